SELECT u.user_id, u.plan
FROM core.users_v1 u
WHERE u.is_active AND u.lifetime_orders = 0
