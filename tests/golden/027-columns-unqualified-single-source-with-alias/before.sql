SELECT city, region, language
FROM `acme-prod.core.users_v1` AS u
WHERE is_active
