SELECT u.user_id, u.email
FROM core.users_v1 u
ORDER BY u.signup_ms DESC, u.mrr_usd
LIMIT 10
