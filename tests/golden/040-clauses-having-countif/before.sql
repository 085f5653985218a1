SELECT u.country, AVG(u.mrr_usd) AS avg_mrr
FROM core.users_v1 AS u
GROUP BY u.country
HAVING COUNTIF(u.is_active) > 0
