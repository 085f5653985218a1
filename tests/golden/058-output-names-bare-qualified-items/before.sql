SELECT
  u.email,
  u.country,
  u.region,
  u.signup_ms,
  u.user_id
FROM core.users_v1 u
