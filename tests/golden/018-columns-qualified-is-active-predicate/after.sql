SELECT u.user_id, u.subscription.plan
FROM core.users_v2 u
WHERE (u.status = 'ACTIVE') AND u.lifetime_orders = 0
