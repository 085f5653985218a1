SELECT x.*, o.order_id
FROM (
  SELECT * EXCEPT (age_bucket, marketing_opt_in, sessions)
  FROM core.users_v1
) AS x
JOIN sales.orders AS o ON o.user_id = x.user_id
