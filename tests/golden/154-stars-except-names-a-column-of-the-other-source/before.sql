SELECT * EXCEPT (age_bucket, marketing_opt_in, sessions, order_id, items)
FROM core.users_v1 AS u
JOIN sales.orders AS o ON o.user_id = u.user_id
