CREATE OR REPLACE TABLE `acme-prod.reporting.signup_cohorts` AS
WITH cohorts AS (
  SELECT
    user_id,
    DATE_TRUNC(DATE(signup_at), MONTH) AS cohort_month,
    lifetime_orders
  FROM `acme-prod.core.users_v2`
),
sizes AS (
  SELECT cohort_month, COUNT(*) AS cohort_size
  FROM cohorts
  GROUP BY cohort_month
)
SELECT c.cohort_month, s.cohort_size, AVG(c.lifetime_orders) AS avg_orders
FROM cohorts c
JOIN sizes s USING (cohort_month)
GROUP BY 1, 2
