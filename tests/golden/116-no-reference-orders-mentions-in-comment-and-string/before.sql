-- This job used to read acme-prod.core.users_v1; it now reads orders only.
SELECT
  country,
  status,
  COUNT(*) AS orders,
  'core.users_v1 is deprecated' AS note
FROM `acme-prod.sales.orders`
GROUP BY country, status
