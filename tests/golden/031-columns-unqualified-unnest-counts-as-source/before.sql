SELECT email, tag
FROM core.users_v1 AS u, UNNEST(u.tags) AS tag
WHERE country = 'FR'
