SELECT *
FROM `acme-prod.core.users_v1`
WHERE country = 'DE'
