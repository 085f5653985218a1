WITH
  active AS (
    SELECT user_id, geo.country_code AS country, subscription.plan
    FROM core.users_v2
    WHERE (status = 'ACTIVE')
  ),
  paying AS (
    -- a second read of the old table, next to the first CTE
    SELECT user_id, geo.country_code AS country, subscription.mrr_cents / 100 AS mrr_usd
    FROM core.users_v2
    WHERE subscription.plan != 'free'
  ),
  both_sides AS (
    SELECT a.user_id, a.country, p.mrr_usd
    FROM active AS a
    JOIN paying AS p ON p.user_id = a.user_id
    WHERE a.country IN (SELECT geo.country_code AS country FROM core.users_v2 WHERE lifetime_orders > 0)
  )
SELECT country, SUM(mrr_usd) AS mrr
FROM both_sides
GROUP BY country
