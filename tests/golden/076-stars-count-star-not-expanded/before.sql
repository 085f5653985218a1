SELECT COUNT(*) AS total, COUNT(DISTINCT country) AS countries
FROM core.users_v1
WHERE signup_ms > 0
