-- one row per country with its top payers, and a JSON payload per user
SELECT
  country,
  ARRAY_AGG(STRUCT(user_id, email, mrr_usd, device) ORDER BY mrr_usd DESC) AS payers,
  ANY_VALUE(TO_JSON_STRING(STRUCT(email, u.full_name, plan AS tier))) AS sample
FROM `acme-prod.core.users_v1` AS u
GROUP BY country
