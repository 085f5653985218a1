select
	u.user_id
	, u.lifetime_orders
from
	`acme-prod.core.users_v1` /* legacy */ u
where
	u.updated_at > timestamp_sub(current_timestamp(), interval 7 day)
