# staging copy, loaded by the CRM export; not the core table
SELECT email, country, is_active
FROM `acme-prod.staging.users_v1`
WHERE is_active
