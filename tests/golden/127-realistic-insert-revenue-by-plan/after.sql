INSERT INTO `acme-prod.reporting.revenue_by_plan` (report_date, plan, country, revenue_usd, mrr_usd)
SELECT
  DATE(o.ordered_at) AS report_date,
  u.subscription.plan,
  o.country,
  SUM(o.amount_usd) AS revenue_usd,
  SUM(u.subscription.mrr_cents / 100) AS mrr_usd
FROM sales.orders o
JOIN core.users_v2 u ON u.user_id = o.user_id
WHERE o.status = 'PAID'
GROUP BY 1, 2, 3
