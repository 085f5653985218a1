SELECT
  `u.email`,
  `u.user_id`,
  u.geo.country_code AS country
FROM `acme-prod.core.users_v2` AS u
