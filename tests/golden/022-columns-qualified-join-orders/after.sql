SELECT
  o.order_id,
  o.country AS ship_country,
  u.geo.country_code AS home_country,
  o.status
FROM sales.orders AS o
JOIN core.users_v2 AS u
  ON u.user_id = o.user_id
WHERE (u.status = 'ACTIVE') AND o.status = 'PAID'
