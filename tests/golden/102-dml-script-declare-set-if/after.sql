DECLARE cutoff_ms INT64;
DECLARE n_active INT64 DEFAULT 0;

SET cutoff_ms = UNIX_MILLIS(TIMESTAMP_SUB(CURRENT_TIMESTAMP(), INTERVAL 30 DAY));

SET n_active = (
  SELECT COUNT(*)
  FROM core.users_v2
  WHERE (status = 'ACTIVE') AND UNIX_MILLIS(signup_at) >= cutoff_ms
);

IF n_active = 0 THEN
  RAISE USING MESSAGE = 'no new active users in core.users_v1';
END IF;
