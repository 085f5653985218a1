-- audience for the newsletter
SELECT u.user_id, u.email_address AS email
FROM `acme-prod.core.users_v2` AS u
-- TODO(data-migration users_v2): marketing_opt_in has no automatic mapping: split into email_opt_in and push_opt_in; which one applies depends on the channel. See https://wiki.example.com/data/users-v2
WHERE u.marketing_opt_in AND (u.status = 'ACTIVE')
