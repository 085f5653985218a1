SELECT o.order_id, o.amount_usd
FROM sales.orders o
LEFT JOIN core.users_v1 u
  ON o.user_id = u.user_id
 AND DATE(o.ordered_at) >= u.created_date
WHERE u.country = o.country
