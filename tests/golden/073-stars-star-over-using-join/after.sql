SELECT *
FROM core.users_v2
JOIN sales.orders USING (user_id)
WHERE (users_v2.status = 'ACTIVE')
