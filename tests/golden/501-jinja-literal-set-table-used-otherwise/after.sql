-- TODO(data-migration users_v2): acme-prod.core.users_v1: unresolved-template: the Jinja literal 'acme-prod.core.users_v1' names the old table acme-prod.core.users_v1; gaggle cannot tell how the template uses it (only a variable set once and used only as a table name is rewritten): point it at the new table by hand. See https://wiki.example.com/data/users-v2
{% set src = 'acme-prod.core.users_v1' %}
SELECT u.user_id, u.email, '{{ src }}' AS source_table
FROM `{{ src }}` AS u
