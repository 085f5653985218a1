SELECT u.user_id, u.geo.city
FROM core.users_v2 u
WHERE u.geo.country_code = 'DE'
  AND u.geo.region IN ('R0', 'R1')
