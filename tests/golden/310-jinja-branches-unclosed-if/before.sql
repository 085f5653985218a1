SELECT u.user_id, u.email
FROM `acme-prod.core.users_v1` AS u
{% if params.recent %}
WHERE u.last_login >= @since
