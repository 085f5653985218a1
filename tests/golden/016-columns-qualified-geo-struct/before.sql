SELECT u.user_id, u.city
FROM core.users_v1 u
WHERE u.country = 'DE'
  AND u.region IN ('R0', 'R1')
