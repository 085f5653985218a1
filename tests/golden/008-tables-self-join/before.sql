-- Referrer / referee pairs
SELECT
  a.user_id AS referee_id,
  b.user_id AS referrer_id
FROM `acme-prod.core.users_v1` a
JOIN `acme-prod.core.users_v1` b
  ON a.referral_code = b.user_id
