-- paid orders with the buyer's country; status is the order's (users_v1 has none)
SELECT
  o.order_id,
  u.geo.country_code AS country,
  (SELECT COUNT(*) FROM `acme-prod.core.users_v2` AS p
   WHERE p.referral.code = u.referral.code AND o.status = 'paid') AS referred_if_paid
FROM `acme-prod.sales.orders` AS o
LEFT JOIN `acme-prod.core.users_v2` AS u ON u.user_id = o.user_id
WHERE o.status = 'paid'
ORDER BY ordered_at
