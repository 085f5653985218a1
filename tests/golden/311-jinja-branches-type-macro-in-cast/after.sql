SELECT
  u.user_id,
  CAST(u.last_seen_at AS {{ dbt.type_timestamp() }}) AS last_login_at,
  CAST((u.subscription.mrr_cents / 100) AS {{ type_numeric() }}) AS mrr
FROM `acme-prod.core.users_v2` AS u
{% if is_incremental() %}
WHERE CAST(u.updated_at AS {{ dbt.type_timestamp() }}) > (SELECT MAX(t.updated_at) FROM {{ this }} AS t)
{% endif %}
