MERGE marts.user_flags T
USING (
  SELECT user_id, status = 'ACTIVE' AS is_active, subscription.mrr_cents / 100 AS mrr_usd
  FROM core.users_v2
) S
ON T.user_id = S.user_id
WHEN MATCHED THEN UPDATE SET is_active = S.is_active, mrr_usd = S.mrr_usd
WHEN NOT MATCHED BY SOURCE THEN DELETE
