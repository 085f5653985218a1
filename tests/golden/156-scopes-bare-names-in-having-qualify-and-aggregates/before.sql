SELECT country, COUNT(*) AS users, SUM(mrr_usd) AS mrr_usd
FROM core.users_v1
WHERE created_date >= DATE '2024-01-01'
GROUP BY country
HAVING COUNTIF(is_active) > 0 AND SUM(mrr_usd) > 0 AND mrr_usd < 1000000
QUALIFY RANK() OVER (ORDER BY SUM(ltv_usd) DESC) <= 5
ORDER BY mrr_usd DESC, country
