SELECT o.order_id, email
FROM `acme-prod.sales.orders` o
JOIN `acme-prod.core.users_v1` u USING (
  user_id,  -- the key
  country   /* same market */
)
