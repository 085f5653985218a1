SELECT
  s.* EXCEPT (age_bucket, marketing_opt_in) REPLACE (UPPER(s.country) AS country),
  o.order_id
FROM core.users_v1 AS s
JOIN sales.orders AS o USING (user_id)
