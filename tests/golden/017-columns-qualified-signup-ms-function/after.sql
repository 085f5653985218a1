-- Days from signup to last login
SELECT
  u.user_id,
  TIMESTAMP_DIFF(u.last_seen_at, TIMESTAMP_MILLIS(UNIX_MILLIS(u.signup_at)), DAY) AS days_to_last_login
FROM core.users_v2 AS u
WHERE UNIX_MILLIS(u.signup_at) >= 1704067200000
