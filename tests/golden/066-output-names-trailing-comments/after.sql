SELECT
  users_v2.referral.code AS referral_code,  -- who invited them
  users_v2.labels AS tags,           -- marketing labels
  users_v2.lifetime_orders
FROM `acme-prod`.`core`.`users_v2`
