SELECT u.user_id
     , u.full_name
     , u.created_date
     , u.is_active
  FROM core.users_v1 u
 WHERE u.lifetime_orders > 2
