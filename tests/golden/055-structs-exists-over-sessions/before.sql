SELECT u.user_id
FROM core.users_v1 AS u
WHERE EXISTS (
  SELECT 1
  FROM UNNEST(u.sessions) AS s
  WHERE s.started_ms > u.signup_ms + 86400000
)
