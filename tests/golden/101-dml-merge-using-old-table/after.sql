MERGE `acme-prod.marts.user_dim` AS t
USING core.users_v2 AS s
ON t.user_id = s.user_id
WHEN MATCHED AND s.updated_at > t.updated_at THEN
  UPDATE SET
    email = s.email_address,
    country = s.geo.country_code,
    is_active = (s.status = 'ACTIVE')
WHEN NOT MATCHED THEN
  INSERT (user_id, email, country, is_active)
  VALUES (s.user_id, s.email_address, s.geo.country_code, (s.status = 'ACTIVE'))
