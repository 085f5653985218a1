SELECT
  user_id,
  email
FROM {% if params.use_crm %}`acme-prod.crm.contacts`{% else %}`acme-prod.core.users_v1`{% endif %}
WHERE user_id IS NOT NULL
