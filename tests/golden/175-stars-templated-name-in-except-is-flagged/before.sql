-- the DAG passes the PII column to drop per environment
SELECT * EXCEPT (age_bucket, marketing_opt_in, {{ params.pii_column }})
FROM `acme-prod.core.users_v1`
WHERE created_date = '{{ ds }}'
