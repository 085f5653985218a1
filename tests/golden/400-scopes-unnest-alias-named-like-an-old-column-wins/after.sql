-- users in a fixed list of countries; the UNNEST element is named like an old column
SELECT user_id, email_address AS email
FROM `acme-prod.core.users_v2`
WHERE EXISTS (SELECT 1 FROM UNNEST(['FR', 'DE']) AS country WHERE country = 'FR')
  AND geo.city IN (SELECT city FROM UNNEST(['Paris', 'Lyon']) AS city)
