-- typed STRUCT constructors: the type names the fields, BigQuery rejects AS inside them
SELECT
  STRUCT<contact STRING, town STRING>(email_address, geo.city) AS who,
  STRUCT<active BOOL, mrr FLOAT64>((status = 'ACTIVE'), (subscription.mrr_cents / 100)) AS billing
FROM `acme-prod.core.users_v2`
