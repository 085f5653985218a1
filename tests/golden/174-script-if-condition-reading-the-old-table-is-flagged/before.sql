DECLARE n INT64;
IF (SELECT COUNT(*) FROM `acme-prod.core.users_v1` WHERE email IS NULL) > 0 THEN
  SELECT user_id, full_name FROM `acme-prod.core.users_v1` WHERE email IS NULL;
ELSE
  SET n = (SELECT COUNT(*) FROM `acme-prod.core.users_v1` WHERE is_active);
END IF;
