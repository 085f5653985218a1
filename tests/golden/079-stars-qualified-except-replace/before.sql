SELECT
  u.* EXCEPT (age_bucket, marketing_opt_in) REPLACE (ROUND(u.mrr_usd, 0) AS mrr_usd),
  'legacy' AS source_version
FROM core.users_v1 u
