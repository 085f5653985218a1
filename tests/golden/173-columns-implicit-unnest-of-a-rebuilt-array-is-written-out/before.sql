-- sessions and tags flattened with BigQuery's implicit UNNEST of an array path
SELECT u.user_id, s.session_id, s.started_ms, tag
FROM `acme-prod.core.users_v1` AS u, u.sessions AS s, u.tags AS tag
WHERE s.duration_s > 60
