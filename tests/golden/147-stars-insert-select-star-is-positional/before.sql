INSERT INTO `acme-prod.mart.users_snapshot`
SELECT * EXCEPT (age_bucket, marketing_opt_in)
FROM `acme-prod.core.users_v1`
WHERE is_active
