SELECT users_v1.full_name, users_v1.signup_ms
FROM `acme-prod.core.users_v1`
WHERE users_v1.created_date >= DATE '2024-01-01'
