-- one STRUCT per user for the export
SELECT
  u.user_id,
  (SELECT AS STRUCT u.* EXCEPT (age_bucket, marketing_opt_in, sessions, device)) AS profile
FROM `acme-prod.core.users_v1` AS u
