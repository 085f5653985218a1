SELECT u.user_id, u.mrr_usd
FROM `acme-prod.core.users_v1` u
WHERE u.updated_at BETWEEN TIMESTAMP('{{ macros.ds_add(ds, -7) }}') AND TIMESTAMP('{{ ds }}')
