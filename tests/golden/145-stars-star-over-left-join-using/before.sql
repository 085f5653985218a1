SELECT * EXCEPT (age_bucket, marketing_opt_in)
FROM `acme-prod.core.users_v1` AS s
LEFT JOIN `acme-prod.sales.orders` AS o USING (user_id)
WHERE o.amount_usd > 10
