-- users whose email is on the marketing list of their country
SELECT user_id, country
FROM `acme-prod.core.users_v1`
WHERE email IN (
  SELECT email FROM `acme-prod.crm.contacts`
  WHERE country = 'US' AND opted_in
)
