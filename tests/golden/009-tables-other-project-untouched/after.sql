-- Compare prod and staging user counts by plan
SELECT p.subscription.plan, COUNT(*) AS prod_users, COUNTIF(s.user_id IS NOT NULL) AS in_staging
FROM `acme-prod.core.users_v2` AS p
LEFT JOIN `acme-staging.core.users_v1` AS s ON s.user_id = p.user_id
GROUP BY p.subscription.plan
