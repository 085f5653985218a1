SELECT COUNT(*) AS dormant_paying
FROM core.users_v1 AS usr
WHERE NOT usr.is_active
  AND usr.mrr_usd>0
