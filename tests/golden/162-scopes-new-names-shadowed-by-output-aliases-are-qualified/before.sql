SELECT
  user_id,
  plan AS status,          -- the team's word for the tier
  email AS locale,
  full_name AS geo
FROM `acme-prod.core.users_v1`
WHERE is_active
ORDER BY is_active DESC, language, region
