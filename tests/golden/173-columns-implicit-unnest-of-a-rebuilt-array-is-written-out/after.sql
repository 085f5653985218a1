-- sessions and tags flattened with BigQuery's implicit UNNEST of an array path
SELECT u.user_id, s.session_id, s.started_ms, tag
FROM `acme-prod.core.users_v2` AS u, UNNEST(ARRAY(SELECT AS STRUCT v.id AS session_id, UNIX_MILLIS(v.started_at) AS started_ms, v.duration_s AS duration_s FROM UNNEST(u.visits) AS v WITH OFFSET AS pos ORDER BY pos)) AS s, u.labels AS tag
WHERE s.duration_s > 60
