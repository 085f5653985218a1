-- TODO(data-migration users_v2): acme-prod.core.users_v1: ambiguous-column: user_id exists in e, u; qualify it. See https://wiki.example.com/data/users-v2
SELECT user_id, event_name, u.subscription.plan
FROM `acme-prod.analytics.events_*` e
JOIN core.users_v2 u ON e.user_id = u.user_id
WHERE _TABLE_SUFFIX = '20240601'
