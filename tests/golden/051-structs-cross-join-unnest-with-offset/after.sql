SELECT
  u.user_id,
  s.session_id,
  idx
FROM `acme-prod.core.users_v2` AS u
CROSS JOIN UNNEST(ARRAY(SELECT AS STRUCT v.id AS session_id, UNIX_MILLIS(v.started_at) AS started_ms, v.duration_s AS duration_s FROM UNNEST(u.visits) AS v WITH OFFSET AS pos ORDER BY pos)) AS s WITH OFFSET AS idx
WHERE idx = 1  -- second session of each user
