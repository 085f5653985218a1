SELECT user_id
FROM `core.users_v2`
WHERE ltv_usd > 100;
