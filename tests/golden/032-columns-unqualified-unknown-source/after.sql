-- enrich with CRM scores (table not in the catalog)
SELECT
  u.user_id,
  -- TODO(data-migration users_v2): acme-prod.core.users_v1: unknown-source-schema: email may also come from c, whose schema gaggle lacks; qualify it. See https://wiki.example.com/data/users-v2
  email,
  score,
  c.segment
FROM core.users_v2 u
LEFT JOIN `acme-prod.misc.unknown_t` c ON c.user_id = u.user_id
WHERE u.geo.country_code = 'DE'
