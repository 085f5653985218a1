-- Nightly upsert of the CRM contact table from the users dimension.
MERGE `acme-prod.crm.contacts` AS tgt
USING (
  SELECT user_id, email_address AS email, display_name AS full_name, geo.country_code AS country, geo.region, geo.city, SPLIT(locale, '-')[SAFE_OFFSET(0)] AS language, UNIX_MILLIS(signup_at) AS signup_ms, DATE(signup_at) AS created_date, last_seen_at AS last_login, status = 'ACTIVE' AS is_active, subscription.plan, subscription.mrr_cents / 100 AS mrr_usd, STRUCT(primary_device.os_name AS os, primary_device.model_name AS model) AS device, referral.code AS referral_code, lifetime_orders, ltv_usd, labels AS tags, updated_at
  FROM `acme-prod.core.users_v2`
  WHERE updated_at >= TIMESTAMP_SUB(CURRENT_TIMESTAMP(), INTERVAL 1 DAY)
) AS src
ON tgt.user_id = src.user_id
WHEN MATCHED THEN
  UPDATE SET email = src.email, full_name = src.full_name, os = src.device.os
WHEN NOT MATCHED THEN
  INSERT (user_id, email, full_name, os) VALUES (src.user_id, src.email, src.full_name, src.device.os)
