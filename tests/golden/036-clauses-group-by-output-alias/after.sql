SELECT geo.country_code AS country, COUNT(*) AS users
FROM core.users_v2
GROUP BY country
ORDER BY users DESC
