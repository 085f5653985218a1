SELECT u.user_id
FROM core.users_v2 AS u
WHERE EXISTS (
  SELECT 1
  FROM UNNEST(ARRAY(SELECT AS STRUCT v.id AS session_id, UNIX_MILLIS(v.started_at) AS started_ms, v.duration_s AS duration_s FROM UNNEST(u.visits) AS v WITH OFFSET AS pos ORDER BY pos)) AS s
  WHERE s.started_ms > UNIX_MILLIS(u.signup_at) + 86400000
)
