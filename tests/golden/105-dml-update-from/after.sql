UPDATE `acme-prod.marts.user_dim` d
SET country = u.geo.country_code,
    plan = u.subscription.plan
FROM core.users_v2 u
WHERE d.user_id = u.user_id
  AND u.updated_at > d.updated_at
