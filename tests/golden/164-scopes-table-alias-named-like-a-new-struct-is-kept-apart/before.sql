-- the team aliases the users table as "geo" in its geography jobs
SELECT country, region, plan
FROM `acme-prod.core.users_v1` AS geo
WHERE city IS NOT NULL
