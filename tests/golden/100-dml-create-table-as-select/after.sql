CREATE OR REPLACE TABLE `acme-prod.marts.user_dim`
PARTITION BY created_date
CLUSTER BY country AS
SELECT
  u.user_id,
  u.display_name AS full_name,
  u.geo.country_code AS country,
  DATE(u.signup_at) AS created_date,
  u.subscription.plan
FROM core.users_v2 AS u;
