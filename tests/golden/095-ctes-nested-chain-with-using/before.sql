WITH
  u AS (
    SELECT user_id, plan, mrr_usd
    FROM core.users_v1
    WHERE NOT is_active
  ),
  o AS (
    SELECT user_id, SUM(amount_usd) AS spend
    FROM sales.orders
    GROUP BY user_id
  ),
  joined AS (
    SELECT u.plan, u.mrr_usd, o.spend
    FROM u JOIN o USING (user_id)
  )
SELECT plan, SUM(mrr_usd) AS mrr, SUM(spend) AS spend
FROM joined
GROUP BY plan
