SELECT * EXCEPT (
    age_bucket,        -- replaced by birth_year
    marketing_opt_in,  /* split */
    sessions,
    device
  ) REPLACE (
    LOWER(email) AS email  -- normalize
  )
FROM `acme-prod.core.users_v1`
