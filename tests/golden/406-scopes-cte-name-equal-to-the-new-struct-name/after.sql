-- a CTE named like the new subscription STRUCT, joined to nothing: still a name in scope
WITH subscription AS (SELECT 'pro' AS tier)
SELECT user_id, users_v2.subscription.plan
FROM `acme-prod.core.users_v2`
WHERE users_v2.subscription.plan IN (SELECT tier FROM subscription)
