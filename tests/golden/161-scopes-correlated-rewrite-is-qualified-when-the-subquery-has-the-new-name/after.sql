SELECT
  u.user_id,
  (SELECT COUNT(*) FROM `acme-prod.sales.orders` o
   WHERE o.user_id = u.user_id AND (u.status = 'ACTIVE') AND o.country != country) AS active_orders_abroad
FROM `acme-prod.core.users_v2` u
WHERE EXISTS (
  SELECT 1 FROM `acme-prod.sales.orders`
  WHERE orders.user_id = u.user_id AND subscription.plan = 'pro'  -- plan: the user's, orders has none
)
