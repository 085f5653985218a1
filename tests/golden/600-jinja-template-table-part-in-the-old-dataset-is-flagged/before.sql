-- The table part comes from the DAG's params or a dbt var.
SELECT u.user_id, u.email
FROM `acme-prod.core.{{ params.table }}` AS u
WHERE u.country = 'FR';

SELECT user_id FROM core.{{ var('users_table') }};

SELECT user_id FROM `acme-prod.core.users_{{ params.suffix }}`;

-- Another dataset, a name the old table cannot have, no dataset written: not flagged.
SELECT user_id FROM `acme-prod.billing.{{ params.table }}`;
SELECT user_id FROM `acme-prod.core.events_{{ ds_nodash }}`;
SELECT user_id FROM `acme-prod.{{ params.dataset }}.{{ params.table }}`
