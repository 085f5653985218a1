SELECT
  u.user_id,
  u.email_address AS email
FROM core.users_v2 AS u
WHERE u.updated_at >= TIMESTAMP('{{ data_interval_start }}')
{% if params.only_active %}
  AND (u.status = 'ACTIVE')
{% endif %}
