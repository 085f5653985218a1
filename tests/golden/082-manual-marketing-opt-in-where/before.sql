-- audience for the newsletter
SELECT u.user_id, u.email
FROM `acme-prod.core.users_v1` AS u
WHERE u.marketing_opt_in AND u.is_active
