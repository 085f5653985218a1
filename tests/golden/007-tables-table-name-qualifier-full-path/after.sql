SELECT users_v2.display_name AS full_name, UNIX_MILLIS(users_v2.signup_at) AS signup_ms
FROM `acme-prod.core.users_v2`
WHERE DATE(users_v2.signup_at) >= DATE '2024-01-01'
