-- the dataset comes from the DAG params
SELECT user_id, lifetime_orders
-- TODO(data-migration users_v2): acme-prod.core.users_v1: unresolved-template: a template builds part of this old table's name; migrate it by hand. See https://wiki.example.com/data/users-v2
FROM `acme-prod.{{ params.dataset }}.users_v1`
WHERE updated_at >= TIMESTAMP('{{ ds }}')
