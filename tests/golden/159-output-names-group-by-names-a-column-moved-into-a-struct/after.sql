SELECT
  geo.country_code AS country,
  subscription.plan AS plan,       -- billing tier
  geo.region AS region,
  COUNT(*) AS users
FROM `acme-prod.core.users_v2`
GROUP BY ROLLUP (country, plan), region
HAVING plan IS NOT NULL OR region = 'EU'
ORDER BY plan, region
