CREATE TEMP TABLE active_ids AS
SELECT user_id, country FROM core.users_v1 WHERE is_active;

SELECT country, COUNT(*) AS n
FROM active_ids
GROUP BY country;
