SELECT device.os AS os_family, COUNT(*) AS users
FROM `acme-prod.core.users_v1`
GROUP BY device.os
