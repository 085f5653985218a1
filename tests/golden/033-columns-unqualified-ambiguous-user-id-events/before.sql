SELECT user_id, event_name, u.plan
FROM `acme-prod.analytics.events_*` e
JOIN core.users_v1 u ON e.user_id = u.user_id
WHERE _TABLE_SUFFIX = '20240601'
