-- the whole row as a STRUCT column, and as a function argument
-- TODO(data-migration users_v2): acme-prod.core.users_v1: unresolved-reference: u is the whole row of acme-prod.core.users_v1 as a STRUCT; its fields change with the new table: list the old columns by hand (e.g. STRUCT(... AS old_name)). See https://wiki.example.com/data/users-v2
SELECT u, user_id FROM `acme-prod.core.users_v2` AS u;
-- TODO(data-migration users_v2): acme-prod.core.users_v1: unresolved-reference: u is the whole row of acme-prod.core.users_v1 as a STRUCT; its fields change with the new table: list the old columns by hand (e.g. STRUCT(... AS old_name)). See https://wiki.example.com/data/users-v2
SELECT user_id, TO_JSON_STRING(u) AS payload, `acme-prod.udfs.pack`(u) AS packed
FROM `acme-prod.core.users_v2` AS u
