-- paid orders with the buyer's country; status is the order's (users_v1 has none)
SELECT
  o.order_id,
  u.country,
  (SELECT COUNT(*) FROM `acme-prod.core.users_v1` AS p
   WHERE p.referral_code = u.referral_code AND status = 'paid') AS referred_if_paid
FROM `acme-prod.sales.orders` AS o
LEFT JOIN `acme-prod.core.users_v1` AS u ON u.user_id = o.user_id
WHERE status = 'paid'
ORDER BY ordered_at
