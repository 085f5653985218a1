SELECT o.order_id, o.amount_usd
FROM sales.orders o
LEFT JOIN core.users_v2 u
  ON o.user_id = u.user_id
 AND DATE(o.ordered_at) >= DATE(u.signup_at)
WHERE u.geo.country_code = o.country
