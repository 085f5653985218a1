-- users whose email is on the marketing list of their country
SELECT user_id, geo.country_code AS country
FROM `acme-prod.core.users_v2`
WHERE email_address IN (
  SELECT email FROM `acme-prod.crm.contacts`
  WHERE country = 'US' AND opted_in
)
