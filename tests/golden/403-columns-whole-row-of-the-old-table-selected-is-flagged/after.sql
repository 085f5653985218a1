-- the whole row as a STRUCT column, and as a function argument
SELECT u, user_id FROM `acme-prod.core.users_v2` AS u;
SELECT user_id, TO_JSON_STRING(u) AS payload, `acme-prod.udfs.pack`(u) AS packed
FROM `acme-prod.core.users_v2` AS u
