SELECT
  u.user_id,
  u.email
FROM `acme-prod.core.users_v1` AS u
{% if params.recent %}
-- TODO(data-migration users_v2): acme-prod.core.users_v1: unparseable: the SQL does not parse: Required keyword: 'expression' missing for <class 'sqlglot.expressions.core.And'>. See https://wiki.example.com/data/users-v2
WHERE u.last_login >= @since AND AND u.is_active
{% else %}
WHERE u.is_active
{% endif %}
