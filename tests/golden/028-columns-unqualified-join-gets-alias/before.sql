SELECT
  o.order_id,
  email,
  plan,
  amount_usd
FROM sales.orders o
JOIN core.users_v1 u ON u.user_id = o.user_id
WHERE is_active
