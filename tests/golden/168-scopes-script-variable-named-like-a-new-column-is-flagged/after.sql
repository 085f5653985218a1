DECLARE status STRING DEFAULT 'pro';
SELECT user_id, email_address AS email
FROM `acme-prod.core.users_v2`
WHERE subscription.plan = status;
