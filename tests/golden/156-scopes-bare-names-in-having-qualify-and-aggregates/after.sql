SELECT geo.country_code AS country, COUNT(*) AS users, SUM(subscription.mrr_cents / 100) AS mrr_usd
FROM core.users_v2
WHERE DATE(signup_at) >= DATE '2024-01-01'
GROUP BY country
HAVING COUNTIF(status = 'ACTIVE') > 0 AND SUM(subscription.mrr_cents / 100) > 0 AND mrr_usd < 1000000
QUALIFY RANK() OVER (ORDER BY SUM(ltv_usd) DESC) <= 5
ORDER BY mrr_usd DESC, country
