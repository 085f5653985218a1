SELECT
  o.order_id,
  u.email_address AS email,
  u.subscription.plan,
  amount_usd
FROM sales.orders o
JOIN core.users_v2 u ON u.user_id = o.user_id
WHERE (u.status = 'ACTIVE')
