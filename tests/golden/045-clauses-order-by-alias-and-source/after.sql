SELECT user_id, last_seen_at AS last_login
FROM core.users_v2
ORDER BY last_login DESC, email_address
