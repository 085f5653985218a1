-- Lifetime value per user, straight from the core table.
SELECT user_id, ltv_usd
FROM `acme-prod.core.users_v2`
WHERE lifetime_orders > 0
