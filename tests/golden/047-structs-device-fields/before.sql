SELECT u.user_id, u.device.os, u.device.model AS phone_model
FROM core.users_v1 AS u
WHERE u.device.os = 'ios'
