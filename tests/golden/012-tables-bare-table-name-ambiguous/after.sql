-- runs with default dataset set to core by the job config
SELECT user_id, lifetime_orders
-- TODO(data-migration users_v2): acme-prod.core.users_v1: ambiguous-table: users_v1 without a dataset depends on the job's default dataset; qualify it. See https://wiki.example.com/data/users-v2
FROM users_v1
WHERE updated_at >= TIMESTAMP '2024-06-01'
