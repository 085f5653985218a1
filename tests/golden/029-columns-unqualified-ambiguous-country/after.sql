SELECT
  o.order_id,
  country,
  u.display_name AS full_name
FROM sales.orders o
JOIN core.users_v2 u
  ON o.user_id = u.user_id
