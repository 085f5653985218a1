SELECT
  users_v1.user_id,
  users_v1.country,
  users_v1.email
FROM core.users_v1
WHERE users_v1.is_active
