SELECT u.email_address AS email, tag
FROM core.users_v2 AS u, UNNEST(u.labels) AS tag
WHERE u.geo.country_code = 'FR'
