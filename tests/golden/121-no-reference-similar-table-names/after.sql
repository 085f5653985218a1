SELECT a.email, a.country
FROM `acme-prod.core.users_v1_archive` AS a
WHERE a.email NOT IN (SELECT 'users_v1@acme.com')
UNION ALL
SELECT b.email, b.country
FROM `acme-prod.core.users_v10` b
