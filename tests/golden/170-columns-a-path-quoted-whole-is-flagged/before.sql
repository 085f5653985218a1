SELECT
  `u.email`,
  `u.user_id`,
  u.`country`
FROM `acme-prod.core.users_v1` AS u
