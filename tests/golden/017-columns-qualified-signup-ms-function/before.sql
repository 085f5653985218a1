-- Days from signup to last login
SELECT
  u.user_id,
  TIMESTAMP_DIFF(u.last_login, TIMESTAMP_MILLIS(u.signup_ms), DAY) AS days_to_last_login
FROM core.users_v1 AS u
WHERE u.signup_ms >= 1704067200000
