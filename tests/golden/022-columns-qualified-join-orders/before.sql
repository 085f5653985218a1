SELECT
  o.order_id,
  o.country AS ship_country,
  u.country AS home_country,
  o.status
FROM sales.orders AS o
JOIN core.users_v1 AS u
  ON u.user_id = o.user_id
WHERE u.is_active AND o.status = 'PAID'
