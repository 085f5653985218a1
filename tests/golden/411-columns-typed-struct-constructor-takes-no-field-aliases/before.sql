-- typed STRUCT constructors: the type names the fields, BigQuery rejects AS inside them
SELECT
  STRUCT<contact STRING, town STRING>(email, city) AS who,
  STRUCT<active BOOL, mrr FLOAT64>(is_active, mrr_usd) AS billing
FROM `acme-prod.core.users_v1`
