SELECT user_id, email_address AS email, display_name AS full_name
FROM core.users_v2
WHERE geo.country_code = 'US'
