CREATE TEMP TABLE active_ids AS
SELECT user_id, geo.country_code AS country FROM core.users_v2 WHERE (status = 'ACTIVE');

SELECT country, COUNT(*) AS n
FROM active_ids
GROUP BY country;
