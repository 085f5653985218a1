MERGE `acme-prod.mart.users_snapshot` AS t
USING `acme-prod.core.users_v1` AS s
ON t.user_id = s.user_id
WHEN MATCHED AND s.updated_at > t.updated_at THEN
  UPDATE SET email = s.email, country = s.country
WHEN NOT MATCHED THEN
  INSERT ROW
