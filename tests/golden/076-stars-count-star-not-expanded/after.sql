SELECT COUNT(*) AS total, COUNT(DISTINCT geo.country_code) AS countries
FROM core.users_v2
WHERE UNIX_MILLIS(signup_at) > 0
