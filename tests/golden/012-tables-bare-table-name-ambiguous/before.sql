-- runs with default dataset set to core by the job config
SELECT user_id, lifetime_orders
FROM users_v1
WHERE updated_at >= TIMESTAMP '2024-06-01'
