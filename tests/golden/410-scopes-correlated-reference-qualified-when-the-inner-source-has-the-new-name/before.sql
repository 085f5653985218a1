-- active users with an order; is_active is the outer user's, orders has its own status
SELECT u.user_id
FROM `acme-prod.core.users_v1` AS u
WHERE EXISTS (
  SELECT 1
  FROM `acme-prod.sales.orders` AS o
  WHERE o.user_id = u.user_id AND is_active AND o.status = 'PAID'
)
