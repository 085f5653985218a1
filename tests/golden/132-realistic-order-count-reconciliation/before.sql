# Reconcile lifetime order counts against the orders table.
SELECT
  u.user_id,
  u.lifetime_orders,
  COUNT(o.order_id) AS counted_orders,
  u.ltv_usd,
  SUM(o.amount_usd) AS counted_ltv
FROM core.users_v1 u
LEFT JOIN sales.orders o
  ON o.user_id = u.user_id AND o.status != 'REFUNDED'
GROUP BY u.user_id, u.lifetime_orders, u.ltv_usd
HAVING COUNT(o.order_id) != u.lifetime_orders
