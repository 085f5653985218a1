SELECT user_id
FROM `core.users_v1`
WHERE ltv_usd > 100;
