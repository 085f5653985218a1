SELECT
  u.user_id,
  UPPER(u.country) AS country_upper,
  u.last_login AS last_login_at,
  u.last_login
FROM core.users_v1 AS u
