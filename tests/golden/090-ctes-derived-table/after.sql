SELECT t.email, t.country
FROM (
  SELECT u.email_address AS email, u.geo.country_code AS country
  FROM core.users_v2 u
  WHERE (u.status = 'ACTIVE')
) AS t
WHERE t.country = 'US'
