SELECT
  order_id,
  amount_usd,
  email,
  full_name,
  o.country AS ship_to,
  u.country AS home
FROM `acme-prod.sales.orders` o
JOIN `acme-prod.core.users_v1` u USING (user_id)
WHERE ordered_at >= TIMESTAMP '2024-06-01'
  AND is_active
