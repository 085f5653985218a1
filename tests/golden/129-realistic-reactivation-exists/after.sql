/*
 * Reactivation candidates: dormant users who ordered in the
 * half year before their last login.
 */
SELECT
  u.user_id,
  u.email_address AS email,
  u.display_name AS full_name,
  u.last_seen_at AS last_login,
  COALESCE(u.referral.code, 'organic') AS acquisition
FROM `acme-prod.core.users_v2` u
WHERE NOT (u.status = 'ACTIVE')
  AND EXISTS (
    SELECT 1
    FROM `acme-prod.sales.orders` o
    WHERE o.user_id = u.user_id
      AND o.ordered_at >= TIMESTAMP_SUB(u.last_seen_at, INTERVAL 180 DAY)
  )
ORDER BY u.last_seen_at
