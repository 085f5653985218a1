SELECT age_bucket, COUNT(*) AS users
FROM core.users_v1
WHERE (age_bucket IN ('18-24', '25-34') OR age_bucket IS NULL)
  AND marketing_opt_in
GROUP BY age_bucket
ORDER BY age_bucket
