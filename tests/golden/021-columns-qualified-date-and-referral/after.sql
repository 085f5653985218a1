SELECT DATE(u.signup_at) AS created_date, u.referral.code AS referral_code
FROM core.users_v2 AS u
WHERE u.referral.code IS NOT NULL
  AND DATE(u.signup_at) BETWEEN '2024-01-01' AND '2024-06-30'
