SELECT u.user_id, u.primary_device.os_name AS os, u.primary_device.model_name AS phone_model
FROM core.users_v2 AS u
WHERE u.primary_device.os_name = 'ios'
