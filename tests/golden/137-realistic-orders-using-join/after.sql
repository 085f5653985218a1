SELECT
  order_id,
  amount_usd,
  u.email_address AS email,
  u.display_name AS full_name,
  o.country AS ship_to,
  u.geo.country_code AS home
FROM `acme-prod.sales.orders` o
JOIN `acme-prod.core.users_v2` u USING (user_id)
WHERE ordered_at >= TIMESTAMP '2024-06-01'
  AND (u.status = 'ACTIVE')
