SELECT region, city, plan, lifetime_orders, ltv_usd, updated_at
FROM core.users_v1
