SELECT
  user_id,
  -- TODO(data-migration users_v2): acme-prod.core.users_v1: unresolved-template: 'email' is read differently depending on the template's branch (it would become 'email_address AS email' in some branches only); migrate it by hand. See https://wiki.example.com/data/users-v2
  email
FROM {% if params.use_crm %}`acme-prod.crm.contacts`{% else %}`acme-prod.core.users_v2`{% endif %}
WHERE user_id IS NOT NULL
