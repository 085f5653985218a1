SELECT DISTINCT primary_device.model_name AS model
FROM core.users_v2
WHERE STRUCT(primary_device.os_name AS os, primary_device.model_name AS model) IS NOT NULL
