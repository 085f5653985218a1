SELECT device.* EXCEPT (model), country
FROM `acme-prod.core.users_v1`
