SELECT
  users_v2.user_id,
  users_v2.geo.country_code AS country,
  users_v2.email_address AS email
FROM core.users_v2
WHERE (users_v2.status = 'ACTIVE')
