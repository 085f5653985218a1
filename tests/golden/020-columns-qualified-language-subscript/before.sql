SELECT u.language, COUNT(*) AS users
FROM `acme-prod.core.users_v1` u
WHERE u.language IS NOT NULL
GROUP BY u.language
