SELECT
  u.user_id,
  (SELECT SUM(s.duration_s) FROM UNNEST(ARRAY(SELECT AS STRUCT v.id AS session_id, UNIX_MILLIS(v.started_at) AS started_ms, v.duration_s AS duration_s FROM UNNEST(u.visits) AS v WITH OFFSET AS pos ORDER BY pos)) s) AS total_duration_s,
  (SELECT COUNT(*) FROM UNNEST(u.labels) t WHERE t LIKE 'b%') AS b_tags
FROM core.users_v2 u
