SELECT u.region, u.plan, SUM(u.ltv_usd) AS ltv
FROM core.users_v1 u
GROUP BY u.region, u.plan
ORDER BY ltv DESC
