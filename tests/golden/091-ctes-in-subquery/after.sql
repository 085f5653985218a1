SELECT o.order_id, o.amount_usd
FROM sales.orders o
WHERE o.user_id IN (
  SELECT user_id FROM core.users_v2 WHERE subscription.plan = 'pro'
)
