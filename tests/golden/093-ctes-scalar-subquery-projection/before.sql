SELECT
  o.order_id,
  (SELECT u.country FROM core.users_v1 u WHERE u.user_id = o.user_id) AS user_country
FROM sales.orders o
