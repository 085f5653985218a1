SELECT u.email, SUM(o.amount_usd) AS revenue
FROM core.users_v1 u, sales.orders o
WHERE o.user_id = u.user_id
GROUP BY u.email
