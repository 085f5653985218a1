-- one row per country with its top payers, and a JSON payload per user
SELECT
  geo.country_code AS country,
  ARRAY_AGG(STRUCT(user_id, email_address AS email, subscription.mrr_cents / 100 AS mrr_usd, STRUCT(primary_device.os_name AS os, primary_device.model_name AS model) AS device) ORDER BY (subscription.mrr_cents / 100) DESC) AS payers,
  ANY_VALUE(TO_JSON_STRING(STRUCT(email_address AS email, u.display_name AS full_name, subscription.plan AS tier))) AS sample
FROM `acme-prod.core.users_v2` AS u
GROUP BY country
