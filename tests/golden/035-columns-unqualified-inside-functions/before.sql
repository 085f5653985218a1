SELECT
  user_id,
  IF(is_active, 'active', 'inactive') AS state,
  COALESCE(referral_code, '(none)') AS referred_by
FROM core.users_v1
