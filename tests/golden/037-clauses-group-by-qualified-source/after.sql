SELECT u.geo.region, u.subscription.plan, SUM(u.ltv_usd) AS ltv
FROM core.users_v2 u
GROUP BY u.geo.region, u.subscription.plan
ORDER BY ltv DESC
