CREATE OR REPLACE VIEW `acme-prod.marts.v_user_emails` AS
SELECT user_id, email_address AS email, display_name AS full_name
FROM `acme-prod.core.users_v2`
WHERE email_address IS NOT NULL;
