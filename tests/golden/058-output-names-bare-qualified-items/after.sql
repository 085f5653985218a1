SELECT
  u.email_address AS email,
  u.geo.country_code AS country,
  u.geo.region,
  UNIX_MILLIS(u.signup_at) AS signup_ms,
  u.user_id
FROM core.users_v2 u
