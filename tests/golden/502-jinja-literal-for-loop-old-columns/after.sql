SELECT
  user_id,
  -- TODO(data-migration users_v2): acme-prod.core.users_v1: unresolved-template: the Jinja literal 'country' names the column country of acme-prod.core.users_v1, which the migration changes; the template renders it into the SQL, where gaggle does not edit it: update it by hand. See https://wiki.example.com/data/users-v2
  {% for c in ['country', 'city'] %}
  {{ c }},
  {% endfor %}
  UNIX_MILLIS(signup_at) AS signup_ms
FROM `acme-prod.core.users_v2`
