-- Nightly upsert of the CRM contact table from the users dimension.
MERGE `acme-prod.crm.contacts` AS tgt
USING (
  SELECT * EXCEPT (sessions, age_bucket, marketing_opt_in)
  FROM `acme-prod.core.users_v1`
  WHERE updated_at >= TIMESTAMP_SUB(CURRENT_TIMESTAMP(), INTERVAL 1 DAY)
) AS src
ON tgt.user_id = src.user_id
WHEN MATCHED THEN
  UPDATE SET email = src.email, full_name = src.full_name, os = src.device.os
WHEN NOT MATCHED THEN
  INSERT (user_id, email, full_name, os) VALUES (src.user_id, src.email, src.full_name, src.device.os)
