SELECT
  age_bucket,
  COUNT(*) AS users
FROM core.users_v1
GROUP BY 1
