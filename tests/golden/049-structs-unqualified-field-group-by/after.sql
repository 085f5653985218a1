SELECT primary_device.os_name AS os_family, COUNT(*) AS users
FROM `acme-prod.core.users_v2`
GROUP BY primary_device.os_name
