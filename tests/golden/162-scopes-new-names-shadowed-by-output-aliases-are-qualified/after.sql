SELECT
  user_id,
  subscription.plan AS status,          -- the team's word for the tier
  email_address AS locale,
  display_name AS geo
FROM `acme-prod.core.users_v2`
WHERE (status = 'ACTIVE')
ORDER BY (users_v2.status = 'ACTIVE') DESC, SPLIT(users_v2.locale, '-')[SAFE_OFFSET(0)], users_v2.geo.region
