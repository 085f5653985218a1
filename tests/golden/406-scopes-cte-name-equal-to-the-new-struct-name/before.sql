-- a CTE named like the new subscription STRUCT, joined to nothing: still a name in scope
WITH subscription AS (SELECT 'pro' AS tier)
SELECT user_id, plan
FROM `acme-prod.core.users_v1`
WHERE plan IN (SELECT tier FROM subscription)
