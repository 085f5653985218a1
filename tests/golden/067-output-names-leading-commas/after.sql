SELECT u.user_id
     , u.display_name AS full_name
     , DATE(u.signup_at) AS created_date
     , u.status = 'ACTIVE' AS is_active
  FROM core.users_v2 u
 WHERE u.lifetime_orders > 2
