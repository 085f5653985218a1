SELECT primary_device.os_name AS os, geo.country_code AS country
FROM `acme-prod.core.users_v2`
