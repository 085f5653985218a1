SELECT
  u.user_id,
  u.device,
  TO_JSON_STRING(u.device) AS device_json
FROM core.users_v1 u
