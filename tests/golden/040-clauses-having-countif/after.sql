SELECT u.geo.country_code AS country, AVG(u.subscription.mrr_cents / 100) AS avg_mrr
FROM core.users_v2 AS u
GROUP BY u.geo.country_code
HAVING COUNTIF(u.status = 'ACTIVE') > 0
