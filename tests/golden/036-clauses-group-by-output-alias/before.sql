SELECT country, COUNT(*) AS users
FROM core.users_v1
GROUP BY country
ORDER BY users DESC
