DECLARE n INT64;
IF (SELECT COUNT(*) FROM `acme-prod.core.users_v1` WHERE email IS NULL) > 0 THEN
  SELECT user_id, display_name AS full_name FROM `acme-prod.core.users_v2` WHERE email_address IS NULL;
ELSE
  SET n = (SELECT COUNT(*) FROM `acme-prod.core.users_v2` WHERE (status = 'ACTIVE'));
END IF;
