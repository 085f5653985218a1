-- the DAG passes the PII column to drop per environment
SELECT * EXCEPT (age_bucket, marketing_opt_in, {{ params.pii_column }})
FROM `acme-prod.core.users_v2`
WHERE DATE(signup_at) = '{{ ds }}'
