DECLARE n INT64;
-- TODO(data-migration users_v2): acme-prod.core.users_v1: unresolved-reference: a scripting condition reads the old table acme-prod.core.users_v1; gaggle does not rewrite IF/WHILE conditions: migrate it by hand. See https://wiki.example.com/data/users-v2
IF (SELECT COUNT(*) FROM `acme-prod.core.users_v1` WHERE email IS NULL) > 0 THEN
  SELECT user_id, display_name AS full_name FROM `acme-prod.core.users_v2` WHERE email_address IS NULL;
ELSE
  SET n = (SELECT COUNT(*) FROM `acme-prod.core.users_v2` WHERE (status = 'ACTIVE'));
END IF;
