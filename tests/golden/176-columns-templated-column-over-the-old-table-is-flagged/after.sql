-- the DAG picks the metric column per report
SELECT
  u.user_id,
  -- TODO(data-migration users_v2): acme-prod.core.users_v1: unresolved-template: a template stands for a column or expression over an old table; gaggle cannot see which: make sure it names the new table's column. See https://wiki.example.com/data/users-v2
  u.{{ params.metric }} AS metric,
  -- TODO(data-migration users_v2): acme-prod.core.users_v1: unresolved-template: a template stands for a column or expression over an old table; gaggle cannot see which: make sure it names the new table's column. See https://wiki.example.com/data/users-v2
  {{ params.dimension }}
FROM `acme-prod.core.users_v2` AS u
WHERE UNIX_MILLIS(u.signup_at) < {{ params.cutoff_ms }}
