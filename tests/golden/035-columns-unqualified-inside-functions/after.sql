SELECT
  user_id,
  IF(status = 'ACTIVE', 'active', 'inactive') AS state,
  COALESCE(referral.code, '(none)') AS referred_by
FROM core.users_v2
