SELECT u.created_date, u.referral_code
FROM core.users_v1 AS u
WHERE u.referral_code IS NOT NULL
  AND u.created_date BETWEEN '2024-01-01' AND '2024-06-30'
