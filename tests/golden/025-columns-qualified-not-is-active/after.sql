SELECT COUNT(*) AS dormant_paying
FROM core.users_v2 AS usr
WHERE NOT (usr.status = 'ACTIVE')
  AND (usr.subscription.mrr_cents / 100)>0
