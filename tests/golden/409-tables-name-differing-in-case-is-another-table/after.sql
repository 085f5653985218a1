-- BigQuery dataset and table names are case-sensitive: the first two are other tables; a project id's case does not matter
SELECT user_id, email FROM `acme-prod.core.USERS_V1`;
SELECT user_id, email FROM `acme-prod.CORE.users_v1`;
SELECT user_id, email_address AS email FROM `ACME-PROD.core.users_v2`
