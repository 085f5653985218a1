SELECT user_id, tags, sessions
FROM core.users_v1
WHERE user_id = 'u1'
