SELECT
  u.user_id,
  (SELECT COUNT(*) FROM `acme-prod.sales.orders` o
   WHERE o.user_id = u.user_id AND is_active AND o.country != country) AS active_orders_abroad
FROM `acme-prod.core.users_v1` u
WHERE EXISTS (
  SELECT 1 FROM `acme-prod.sales.orders`
  WHERE orders.user_id = u.user_id AND plan = 'pro'  -- plan: the user's, orders has none
)
