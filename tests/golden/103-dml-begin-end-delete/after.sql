BEGIN
  -- purge churned users from the mart
  DELETE FROM `acme-prod.marts.user_dim`
  WHERE user_id IN (
    SELECT user_id FROM `acme-prod.core.users_v2` WHERE NOT (status = 'ACTIVE')
  );

  INSERT INTO `acme-prod.marts.audit_log` (ts, note)
  VALUES (CURRENT_TIMESTAMP(), 'purged inactive users_v1 rows');
END;
