-- dedupe by a fingerprint of the whole row, keep the latest version per user
SELECT
  FARM_FINGERPRINT(TO_JSON_STRING(u)) AS row_hash,
  ARRAY_AGG(u ORDER BY u.updated_at DESC LIMIT 1)[OFFSET(0)] AS latest
FROM `acme-prod.core.users_v2` AS u
GROUP BY row_hash
