-- the DAG picks the metric column per report
SELECT
  u.user_id,
  u.{{ params.metric }} AS metric,
  {{ params.dimension }}
FROM `acme-prod.core.users_v2` AS u
WHERE UNIX_MILLIS(u.signup_at) < {{ params.cutoff_ms }}
