select user_id, updated_at
from `acme-prod`.core.users_v2 as u
where u.updated_at >= timestamp '2024-01-01'
