SELECT * EXCEPT (age_bucket, marketing_opt_in, sessions, device)
FROM `acme-prod.core.users_v1` AS geo;

SELECT user_id, device.*, device.os AS os_again
FROM `acme-prod.core.users_v1` AS primary_device;
