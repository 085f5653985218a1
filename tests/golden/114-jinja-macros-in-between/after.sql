SELECT u.user_id, u.subscription.mrr_cents / 100 AS mrr_usd
FROM `acme-prod.core.users_v2` u
WHERE u.updated_at BETWEEN TIMESTAMP('{{ macros.ds_add(ds, -7) }}') AND TIMESTAMP('{{ ds }}')
