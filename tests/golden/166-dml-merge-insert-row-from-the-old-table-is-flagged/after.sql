MERGE `acme-prod.mart.users_snapshot` AS t
USING `acme-prod.core.users_v2` AS s
ON t.user_id = s.user_id
WHEN MATCHED AND s.updated_at > t.updated_at THEN
  UPDATE SET email = s.email_address, country = s.geo.country_code
WHEN NOT MATCHED THEN
  INSERT ROW
