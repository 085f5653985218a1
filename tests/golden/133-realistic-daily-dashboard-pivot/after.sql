SELECT
  DATE(signup_at) AS day,
  COUNTIF(status = 'ACTIVE') AS active,
  COUNTIF(NOT (status = 'ACTIVE')) AS inactive,
  COUNTIF(primary_device.os_name = 'ios') AS ios,
  SUM(IF(subscription.plan = 'pro', (subscription.mrr_cents / 100), 0)) AS pro_mrr
FROM `acme-prod.core.users_v2`
WHERE DATE(signup_at) >= DATE '2024-01-01'
GROUP BY day
ORDER BY day
