-- quick check before the release
SELECT user_id, email
FROM core.users_v1
WHERE is_active AND AND country = 'US'
ORDER BY email
