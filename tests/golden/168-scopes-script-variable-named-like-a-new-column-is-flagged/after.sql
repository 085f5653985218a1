DECLARE status STRING DEFAULT 'pro';
SELECT user_id, email_address AS email
FROM `acme-prod.core.users_v2`
-- TODO(data-migration users_v2): acme-prod.core.users_v1: ambiguous-column: status is a column of the new table for acme-prod.core.users_v1; unqualified it would read the new table instead of what it reads today: qualify it. See https://wiki.example.com/data/users-v2
WHERE subscription.plan = status;
