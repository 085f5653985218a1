SELECT
  user_id,
  LAG(UNIX_MILLIS(signup_at)) OVER w AS prev_signup_ms
FROM core.users_v2
WINDOW w AS (PARTITION BY geo.country_code ORDER BY UNIX_MILLIS(signup_at))
