WITH base AS (
  SELECT user_id, geo.country_code AS country, UNIX_MILLIS(signup_at) AS signup_ms, status = 'ACTIVE' AS is_active
  FROM `acme-prod.core.users_v2`
),
recent AS (
  SELECT *
  FROM base
  WHERE signup_ms >= UNIX_MILLIS(TIMESTAMP '2024-03-01')
)
SELECT country, COUNTIF(is_active) AS active_users
FROM recent
GROUP BY country
