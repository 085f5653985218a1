SELECT created_date, language, COUNT(*) n
FROM `acme-prod.core.users_v1`
GROUP BY 1, 2
ORDER BY 1
