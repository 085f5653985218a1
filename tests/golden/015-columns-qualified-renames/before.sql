SELECT
  u.user_id,
  u.email,
  u.full_name,
  u.last_login
FROM `acme-prod.core.users_v1` AS u
