SELECT
  user_id,
  LAG(signup_ms) OVER w AS prev_signup_ms
FROM core.users_v1
WINDOW w AS (PARTITION BY country ORDER BY signup_ms)
