SELECT
  created_date AS day,
  COUNTIF(is_active) AS active,
  COUNTIF(NOT is_active) AS inactive,
  COUNTIF(device.os = 'ios') AS ios,
  SUM(IF(plan = 'pro', mrr_usd, 0)) AS pro_mrr
FROM `acme-prod.core.users_v1`
WHERE created_date >= DATE '2024-01-01'
GROUP BY day
ORDER BY day
