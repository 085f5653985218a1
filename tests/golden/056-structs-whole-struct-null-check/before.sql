SELECT DISTINCT device.model
FROM core.users_v1
WHERE device IS NOT NULL
