SELECT
  u.user_id,
  UPPER(u.geo.country_code) AS country_upper,
  u.last_seen_at AS last_login_at,
  u.last_seen_at AS last_login
FROM core.users_v2 AS u
