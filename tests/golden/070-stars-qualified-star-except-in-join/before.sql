SELECT
  u.* EXCEPT (age_bucket, marketing_opt_in, sessions),
  o.order_id
FROM core.users_v1 u
JOIN sales.orders o ON o.user_id = u.user_id
