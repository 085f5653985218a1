SELECT u.email_address AS email, u.subscription.plan AS plan, u.geo.city AS town
FROM core.users_v2 u
