SELECT
  u.user_id,
  STRUCT(u.primary_device.os_name AS os, u.primary_device.model_name AS model) AS device,
  TO_JSON_STRING(STRUCT(u.primary_device.os_name AS os, u.primary_device.model_name AS model)) AS device_json
FROM core.users_v2 u
