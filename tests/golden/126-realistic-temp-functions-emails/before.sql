CREATE TEMP FUNCTION normalize_email(e STRING) AS (LOWER(TRIM(e)));
CREATE TEMP FUNCTION is_internal(e STRING) AS (ENDS_WITH(e, '@acme.com'));

SELECT
  normalize_email(u.email) AS email_norm,
  u.full_name,
  u.language
FROM core.users_v1 u
WHERE NOT is_internal(normalize_email(u.email))
