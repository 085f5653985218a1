SELECT
  -- TODO(data-migration users_v2): acme-prod.core.users_v1: unresolved-reference: `u.email` reads acme-prod.core.users_v1 through one quoted path; split it (`a`.`b`) or migrate it by hand. See https://wiki.example.com/data/users-v2
  `u.email`,
  -- TODO(data-migration users_v2): acme-prod.core.users_v1: unresolved-reference: `u.user_id` reads acme-prod.core.users_v1 through one quoted path; split it (`a`.`b`) or migrate it by hand. See https://wiki.example.com/data/users-v2
  `u.user_id`,
  u.geo.country_code AS country
FROM `acme-prod.core.users_v2` AS u
