SELECT o.order_id, o.amount_usd
FROM sales.orders o
WHERE o.user_id IN (
  SELECT user_id FROM core.users_v1 WHERE plan = 'pro'
)
