SELECT o.order_id
FROM sales.orders o
JOIN core.users_v2 u
  ON u.user_id = o.user_id
  -- TODO(data-migration users_v2): marketing_opt_in has no automatic mapping: split into email_opt_in and push_opt_in; which one applies depends on the channel. See https://wiki.example.com/data/users-v2
  AND u.marketing_opt_in
WHERE o.status = 'PAID'
