WITH base AS (
  SELECT user_id, country, signup_ms, is_active
  FROM `acme-prod.core.users_v1`
),
recent AS (
  SELECT *
  FROM base
  WHERE signup_ms >= UNIX_MILLIS(TIMESTAMP '2024-03-01')
)
SELECT country, COUNTIF(is_active) AS active_users
FROM recent
GROUP BY country
