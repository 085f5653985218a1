CREATE OR REPLACE VIEW `acme-prod.marts.v_user_emails` AS
SELECT user_id, email, full_name
FROM `acme-prod.core.users_v1`
WHERE email IS NOT NULL;
