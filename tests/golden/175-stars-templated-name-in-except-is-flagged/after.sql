-- the DAG passes the PII column to drop per environment
-- TODO(data-migration users_v2): acme-prod.core.users_v1: unresolved-template: a template names a column in this star's EXCEPT/REPLACE list; gaggle cannot tell which old column it drops: expand the star by hand. See https://wiki.example.com/data/users-v2
SELECT * EXCEPT (age_bucket, marketing_opt_in, {{ params.pii_column }})
FROM `acme-prod.core.users_v2`
WHERE DATE(signup_at) = '{{ ds }}'
