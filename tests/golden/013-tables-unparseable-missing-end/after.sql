SELECT
  user_id,
  -- TODO(data-migration users_v2): acme-prod.core.users_v1: unparseable: the SQL does not parse: Expected END after CASE. See https://wiki.example.com/data/users-v2
  CASE WHEN is_active THEN 1 ELSE 0 AS active_flag
FROM `acme-prod.core.users_v1`
WHERE country = 'DE'
