select users_v1.* except (sessions, age_bucket, marketing_opt_in)
from core.users_v1
where users_v1.plan = 'pro'
