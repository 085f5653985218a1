SELECT
  o.order_id,
  (SELECT u.geo.country_code AS country FROM core.users_v2 u WHERE u.user_id = o.user_id) AS user_country
FROM sales.orders o
