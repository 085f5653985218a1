SELECT geo.region, geo.city, subscription.plan, lifetime_orders, ltv_usd, updated_at
FROM core.users_v2
