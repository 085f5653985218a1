SELECT
    user_id,
    lifetime_orders
FROM `acme-prod`.`core`.`users_v2`
ORDER BY lifetime_orders DESC
LIMIT 100
