SELECT
  users_v1.referral_code,  -- who invited them
  users_v1.tags,           -- marketing labels
  users_v1.lifetime_orders
FROM `acme-prod`.`core`.`users_v1`
