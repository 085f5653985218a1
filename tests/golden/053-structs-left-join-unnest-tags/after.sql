SELECT u.user_id, tag
FROM core.users_v2 u
LEFT JOIN UNNEST(u.labels) AS tag
ORDER BY u.user_id, tag
