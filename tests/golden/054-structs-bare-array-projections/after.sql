SELECT user_id, labels AS tags, ARRAY(SELECT AS STRUCT v.id AS session_id, UNIX_MILLIS(v.started_at) AS started_ms, v.duration_s AS duration_s FROM UNNEST(visits) AS v WITH OFFSET AS pos ORDER BY pos) AS sessions
FROM core.users_v2
WHERE user_id = 'u1'
