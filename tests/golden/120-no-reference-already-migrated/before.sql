-- migrated by hand in PR #412 (was users_v1)
SELECT
  u.user_id,
  u.geo.country_code AS country,
  u.status = 'ACTIVE' AS is_active
FROM `acme-prod.core.users_v2` AS u
JOIN `acme-prod.sales.orders` AS o
  ON o.user_id = u.user_id
WHERE o.status = 'PAID'
