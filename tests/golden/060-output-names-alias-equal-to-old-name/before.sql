SELECT u.email AS email, u.plan AS plan, u.city AS town
FROM core.users_v1 u
