-- the DAG picks the metric column per report
SELECT
  u.user_id,
  u.{{ params.metric }} AS metric,
  {{ params.dimension }}
FROM `acme-prod.core.users_v1` AS u
WHERE u.signup_ms < {{ params.cutoff_ms }}
