SELECT u.*, o.amount_usd
FROM `acme-prod.core.users_v1` u
LEFT JOIN sales.orders o
ON u.user_id = o.user_id
