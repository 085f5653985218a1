SELECT
  user_id,
  ARRAY_LENGTH(ARRAY(SELECT AS STRUCT v.id AS session_id, UNIX_MILLIS(v.started_at) AS started_ms, v.duration_s AS duration_s FROM UNNEST(visits) AS v WITH OFFSET AS pos ORDER BY pos)) AS n_sessions,
  ARRAY_LENGTH(labels) AS n_tags
FROM core.users_v2
WHERE 'vip' IN UNNEST(labels)
