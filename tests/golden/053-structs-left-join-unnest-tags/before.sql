SELECT u.user_id, tag
FROM core.users_v1 u
LEFT JOIN UNNEST(u.tags) AS tag
ORDER BY u.user_id, tag
