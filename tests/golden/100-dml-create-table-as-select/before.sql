CREATE OR REPLACE TABLE `acme-prod.marts.user_dim`
PARTITION BY created_date
CLUSTER BY country AS
SELECT
  u.user_id,
  u.full_name,
  u.country,
  u.created_date,
  u.plan
FROM core.users_v1 AS u;
