SELECT *
FROM core.users_v1
JOIN sales.orders USING (user_id)
WHERE users_v1.is_active
