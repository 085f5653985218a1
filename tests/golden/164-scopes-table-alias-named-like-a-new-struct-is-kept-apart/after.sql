-- the team aliases the users table as "geo" in its geography jobs
SELECT geo.geo.country_code AS country, geo.geo.region, subscription.plan
FROM `acme-prod.core.users_v2` AS geo
WHERE geo.geo.city IS NOT NULL
