CREATE TEMP FUNCTION normalize_email(e STRING) AS (LOWER(TRIM(e)));
CREATE TEMP FUNCTION is_internal(e STRING) AS (ENDS_WITH(e, '@acme.com'));

SELECT
  normalize_email(u.email_address) AS email_norm,
  u.display_name AS full_name,
  SPLIT(u.locale, '-')[SAFE_OFFSET(0)] AS language
FROM core.users_v2 u
WHERE NOT is_internal(normalize_email(u.email_address))
