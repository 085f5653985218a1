SELECT
  user_id,
  ARRAY_LENGTH(sessions) AS n_sessions,
  ARRAY_LENGTH(tags) AS n_tags
FROM core.users_v1
WHERE 'vip' IN UNNEST(tags)
