SELECT
  country,
  plan,       -- billing tier
  region,
  COUNT(*) AS users
FROM `acme-prod.core.users_v1`
GROUP BY ROLLUP (country, plan), region
HAVING plan IS NOT NULL OR region = 'EU'
ORDER BY plan, region
