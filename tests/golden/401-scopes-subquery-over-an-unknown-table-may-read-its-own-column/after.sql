-- users whose email is on the marketing list of their country
SELECT user_id, geo.country_code AS country
FROM `acme-prod.core.users_v2`
WHERE email_address IN (
  -- TODO(data-migration users_v2): acme-prod.core.users_v1: unknown-source-schema: email may also come from contacts, whose schema gaggle lacks; qualify it. See https://wiki.example.com/data/users-v2
  SELECT email FROM `acme-prod.crm.contacts`
  -- TODO(data-migration users_v2): acme-prod.core.users_v1: unknown-source-schema: country may also come from contacts, whose schema gaggle lacks; qualify it. See https://wiki.example.com/data/users-v2
  WHERE country = 'US' AND opted_in
)
