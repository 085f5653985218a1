/*
 * Reactivation candidates: dormant users who ordered in the
 * half year before their last login.
 */
SELECT
  u.user_id,
  u.email,
  u.full_name,
  u.last_login,
  COALESCE(u.referral_code, 'organic') AS acquisition
FROM `acme-prod.core.users_v1` u
WHERE NOT u.is_active
  AND EXISTS (
    SELECT 1
    FROM `acme-prod.sales.orders` o
    WHERE o.user_id = u.user_id
      AND o.ordered_at >= TIMESTAMP_SUB(u.last_login, INTERVAL 180 DAY)
  )
ORDER BY u.last_login
