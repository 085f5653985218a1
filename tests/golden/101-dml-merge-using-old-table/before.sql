MERGE `acme-prod.marts.user_dim` AS t
USING core.users_v1 AS s
ON t.user_id = s.user_id
WHEN MATCHED AND s.updated_at > t.updated_at THEN
  UPDATE SET
    email = s.email,
    country = s.country,
    is_active = s.is_active
WHEN NOT MATCHED THEN
  INSERT (user_id, email, country, is_active)
  VALUES (s.user_id, s.email, s.country, s.is_active)
