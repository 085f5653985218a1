DECLARE status STRING DEFAULT 'pro';
SELECT user_id, email
FROM `acme-prod.core.users_v1`
WHERE plan = status;
