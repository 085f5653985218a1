{%- set users = "core.users_v2" %}
SELECT u.user_id, u.display_name AS full_name
FROM `{{ users }}` AS u
{%- if params.only_paying %}
WHERE (u.subscription.mrr_cents / 100) > 0
{%- else %}
JOIN `{{ users }}` AS referrer ON referrer.referral.code = u.referral.code
{%- endif %}
