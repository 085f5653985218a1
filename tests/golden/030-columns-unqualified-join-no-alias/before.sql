SELECT o.order_id, full_name, mrr_usd
FROM sales.orders AS o
INNER JOIN core.users_v1 ON users_v1.user_id = o.user_id
