-- dedupe by a fingerprint of the whole row, keep the latest version per user
SELECT
  -- TODO(data-migration users_v2): acme-prod.core.users_v1: unresolved-reference: u is the whole row of acme-prod.core.users_v1 as a STRUCT; its fields change with the new table: list the old columns by hand (e.g. STRUCT(... AS old_name)). See https://wiki.example.com/data/users-v2
  FARM_FINGERPRINT(TO_JSON_STRING(u)) AS row_hash,
  -- TODO(data-migration users_v2): acme-prod.core.users_v1: unresolved-reference: u is the whole row of acme-prod.core.users_v1 as a STRUCT; its fields change with the new table: list the old columns by hand (e.g. STRUCT(... AS old_name)). See https://wiki.example.com/data/users-v2
  ARRAY_AGG(u ORDER BY u.updated_at DESC LIMIT 1)[OFFSET(0)] AS latest
FROM `acme-prod.core.users_v2` AS u
GROUP BY row_hash
