SELECT o.order_id
FROM sales.orders o
JOIN core.users_v1 u
  ON u.user_id = o.user_id
  AND u.marketing_opt_in
WHERE o.status = 'PAID'
