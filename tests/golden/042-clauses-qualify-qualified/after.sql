-- latest login per country
SELECT u.geo.country_code AS country, u.user_id, u.last_seen_at AS last_login
FROM core.users_v2 AS u
WHERE (u.status = 'ACTIVE')
QUALIFY ROW_NUMBER() OVER (PARTITION BY u.geo.country_code ORDER BY u.last_seen_at DESC) = 1
