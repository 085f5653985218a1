SELECT u.user_id, u.email
FROM `acme-prod.core.users_v1` AS u
-- TODO(data-migration users_v2): acme-prod.core.users_v1: unparseable: the template does not nest: {% if %} is never closed. See https://wiki.example.com/data/users-v2
{% if params.recent %}
WHERE u.last_login >= @since
