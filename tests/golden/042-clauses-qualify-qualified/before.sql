-- latest login per country
SELECT u.country, u.user_id, u.last_login
FROM core.users_v1 AS u
WHERE u.is_active
QUALIFY ROW_NUMBER() OVER (PARTITION BY u.country ORDER BY u.last_login DESC) = 1
