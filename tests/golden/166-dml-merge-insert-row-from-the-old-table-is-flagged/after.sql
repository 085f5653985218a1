MERGE `acme-prod.mart.users_snapshot` AS t
-- TODO(data-migration users_v2): acme-prod.core.users_v1: unresolved-reference: INSERT ROW inserts the whole row of acme-prod.core.users_v1 by position; its columns change with the new table: list them (INSERT (...) VALUES (...)) by hand. See https://wiki.example.com/data/users-v2
USING `acme-prod.core.users_v2` AS s
ON t.user_id = s.user_id
WHEN MATCHED AND s.updated_at > t.updated_at THEN
  UPDATE SET email = s.email_address, country = s.geo.country_code
WHEN NOT MATCHED THEN
  INSERT ROW
