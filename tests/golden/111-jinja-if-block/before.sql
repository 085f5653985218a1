SELECT
  u.user_id,
  u.email
FROM core.users_v1 AS u
WHERE u.updated_at >= TIMESTAMP('{{ data_interval_start }}')
{% if params.only_active %}
  AND u.is_active
{% endif %}
