-- BigQuery dataset and table names are case-sensitive: the first two are other tables; a project id's case does not matter
-- TODO(data-migration users_v2): acme-prod.core.users_v1: ambiguous-table: acme-prod.core.USERS_V1 differs from acme-prod.core.users_v1 only in case: BigQuery names are case-sensitive, so it is another table unless its dataset is case-insensitive; check it. See https://wiki.example.com/data/users-v2
SELECT user_id, email FROM `acme-prod.core.USERS_V1`;
-- TODO(data-migration users_v2): acme-prod.core.users_v1: ambiguous-table: acme-prod.CORE.users_v1 differs from acme-prod.core.users_v1 only in case: BigQuery names are case-sensitive, so it is another table unless its dataset is case-insensitive; check it. See https://wiki.example.com/data/users-v2
SELECT user_id, email FROM `acme-prod.CORE.users_v1`;
SELECT user_id, email_address AS email FROM `ACME-PROD.core.users_v2`
