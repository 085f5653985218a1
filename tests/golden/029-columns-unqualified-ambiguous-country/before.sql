SELECT
  o.order_id,
  country,
  u.full_name
FROM sales.orders o
JOIN core.users_v1 u
  ON o.user_id = u.user_id
