SELECT user_id, last_login
FROM core.users_v1
ORDER BY last_login DESC, email
