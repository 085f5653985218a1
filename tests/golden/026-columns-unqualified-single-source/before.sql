SELECT user_id, email, full_name
FROM core.users_v1
WHERE country = 'US'
