CREATE OR REPLACE VIEW `acme-prod.mart.active_users` AS
WITH base AS (
  SELECT * EXCEPT (age_bucket, marketing_opt_in) REPLACE (LOWER(email) AS email)
  FROM `acme-prod.core.users_v1`
  WHERE is_active
)
SELECT b.* EXCEPT (sessions)
FROM base AS b
