SELECT u.user_id, u.email_address AS email
FROM core.users_v2 u
ORDER BY UNIX_MILLIS(u.signup_at) DESC, (u.subscription.mrr_cents / 100)
LIMIT 10
