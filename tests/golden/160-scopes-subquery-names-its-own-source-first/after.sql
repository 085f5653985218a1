-- users with German orders, and the biggest German order next to each
SELECT
  email_address AS email,
  (SELECT MAX(amount_usd) FROM `acme-prod.sales.orders` WHERE country = 'DE') AS max_de_order
FROM `acme-prod.core.users_v2`
WHERE user_id IN (SELECT user_id FROM `acme-prod.sales.orders` WHERE country = 'DE')
  AND EXISTS (SELECT 1 FROM `acme-prod.sales.orders` AS o WHERE o.user_id = user_id AND country != 'XX')
