-- enrich with CRM scores (table not in the catalog)
SELECT
  u.user_id,
  email,
  score,
  c.segment
FROM core.users_v1 u
LEFT JOIN `acme-prod.misc.unknown_t` c ON c.user_id = u.user_id
WHERE u.country = 'DE'
