-- the dataset comes from the DAG params
SELECT user_id, lifetime_orders
FROM `acme-prod.{{ params.dataset }}.users_v1`
WHERE updated_at >= TIMESTAMP('{{ ds }}')
