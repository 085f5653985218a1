UPDATE `acme-prod.marts.user_dim` d
SET country = u.country,
    plan = u.plan
FROM core.users_v1 u
WHERE d.user_id = u.user_id
  AND u.updated_at > d.updated_at
