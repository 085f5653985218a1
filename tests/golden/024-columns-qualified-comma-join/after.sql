SELECT u.email_address AS email, SUM(o.amount_usd) AS revenue
FROM core.users_v2 u, sales.orders o
WHERE o.user_id = u.user_id
GROUP BY u.email_address
