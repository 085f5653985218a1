SELECT t.email, t.country
FROM (
  SELECT u.email, u.country
  FROM core.users_v1 u
  WHERE u.is_active
) AS t
WHERE t.country = 'US'
