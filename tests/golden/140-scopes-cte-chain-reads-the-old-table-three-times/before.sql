WITH
  active AS (
    SELECT user_id, country, plan
    FROM core.users_v1
    WHERE is_active
  ),
  paying AS (
    -- a second read of the old table, next to the first CTE
    SELECT user_id, country, mrr_usd
    FROM core.users_v1
    WHERE plan != 'free'
  ),
  both_sides AS (
    SELECT a.user_id, a.country, p.mrr_usd
    FROM active AS a
    JOIN paying AS p ON p.user_id = a.user_id
    WHERE a.country IN (SELECT country FROM core.users_v1 WHERE lifetime_orders > 0)
  )
SELECT country, SUM(mrr_usd) AS mrr
FROM both_sides
GROUP BY country
