-- What the adjudication engine prices a claim from, in one call.
--
-- The desktop runs the engine itself (it must work offline on a leased
-- claim), so it needs the facts the engine reads: eligibility on the date of
-- service, the plan's cost sharing, this plan year's accumulators, the
-- provider's network, exclusion and credential standing, the contract's fee
-- schedule for the claim's codes, the code tables for its codes, and the
-- member's other claims for duplicate edits. They travel inside the claim's
-- stored record, sealed like the rest.
--
-- SECURITY INVOKER on purpose: it reads as the caller, so row security
-- (restricted members and claims) applies as it does to every other read,
-- and it needs nothing an adjudicator may not already read. Money is decimal
-- text: a JSON number would reach the client through a float.
SET LOCAL search_path = claimdesk, public, pg_catalog;

CREATE FUNCTION claim_pricing_facts(p_claim uuid) RETURNS jsonb
LANGUAGE sql STABLE SET search_path = claimdesk, pg_catalog AS $$
WITH c AS (SELECT * FROM claim WHERE id = p_claim),
     e AS (SELECT e.* FROM c, check_eligibility(c.member_id, c.service_from) e),
     -- The plan: the one eligibility found, else the claim's policy's.
     pl AS (SELECT p.* FROM plan p
            WHERE p.id = coalesce((SELECT plan_id FROM e),
                                  (SELECT po.plan_id FROM c JOIN policy po ON po.id = c.policy_id))),
     pol AS (SELECT coalesce((SELECT policy_id FROM e), (SELECT policy_id FROM c)) AS id),
     yr AS (SELECT CASE WHEN extract(month FROM c.service_from) >= pl.plan_year_start_month
                        THEN extract(year FROM c.service_from)::int
                        ELSE extract(year FROM c.service_from)::int - 1 END AS plan_year
            FROM c, pl),
     codes AS (SELECT DISTINCT l.cpt_code FROM claim_line l WHERE l.claim_id = p_claim),
     ctr AS (SELECT k.* FROM contract k, c
             WHERE k.provider_id = c.provider_id AND k.status = 'active'
               AND c.service_from >= k.effective_date
               AND (k.termination_date IS NULL OR c.service_from <= k.termination_date)
             ORDER BY k.effective_date DESC LIMIT 1)
SELECT jsonb_build_object(
    'eligibility', (SELECT jsonb_build_object('is_eligible', e.is_eligible, 'reason', e.reason,
                                              'explanation', e.explanation) FROM e),
    'plan', (SELECT jsonb_build_object(
                 'plan_code', pl.plan_code, 'name', pl.name, 'plan_type', pl.plan_type,
                 'deductible_individual', pl.deductible_individual::text,
                 'deductible_family', pl.deductible_family::text,
                 'oop_max_individual', pl.oop_max_individual::text,
                 'oop_max_family', pl.oop_max_family::text,
                 'coinsurance_in_network', pl.coinsurance_in_network::text,
                 'coinsurance_out_of_network', pl.coinsurance_out_of_network::text,
                 'out_of_network_covered', pl.out_of_network_covered,
                 'plan_year', (SELECT plan_year FROM yr)) FROM pl),
    'benefits', (SELECT coalesce(jsonb_agg(jsonb_build_object(
                     'benefit_category', b.benefit_category,
                     'copay_in_network', b.copay_in_network::text,
                     'copay_out_of_network', b.copay_out_of_network::text,
                     'deductible_applies', b.deductible_applies,
                     'covered_in_network', b.covered_in_network,
                     'covered_out_of_network', b.covered_out_of_network) ORDER BY b.benefit_category), '[]')
                 FROM plan_benefit b JOIN pl ON b.plan_id = pl.id),
    'accumulators', (SELECT jsonb_build_object(
                         'individual_deductible', coalesce((SELECT a.deductible_met FROM accumulator a, c
                             WHERE a.member_id = c.member_id AND a.policy_id = pol.id AND a.plan_year = yr.plan_year), 0)::text,
                         'individual_oop', coalesce((SELECT a.oop_met FROM accumulator a, c
                             WHERE a.member_id = c.member_id AND a.policy_id = pol.id AND a.plan_year = yr.plan_year), 0)::text,
                         'family_deductible', coalesce((SELECT f.deductible_met FROM family_accumulator f
                             WHERE f.policy_id = pol.id AND f.plan_year = yr.plan_year), 0)::text,
                         'family_oop', coalesce((SELECT f.oop_met FROM family_accumulator f
                             WHERE f.policy_id = pol.id AND f.plan_year = yr.plan_year), 0)::text)
                     FROM pol, yr),
    'provider', (SELECT jsonb_build_object(
                     'npi', p.npi,
                     'name', coalesce(p.organization_name, p.last_name || ', ' || p.first_name),
                     'network_status', p.network_status,
                     'status', p.status,
                     'excluded', p.excluded,
                     'exclusion_source', p.exclusion_source,
                     'exclusion_date', p.exclusion_date,
                     'recredential_due', p.recredential_due,
                     -- Credentialed: a verified medical licence in force on the date of service.
                     'credentialed', EXISTS (SELECT FROM provider_credential pc
                         WHERE pc.provider_id = p.id AND pc.credential_type = 'medical_license'
                           AND pc.status = 'verified'
                           AND (pc.expiration_date IS NULL OR pc.expiration_date >= c.service_from)))
                 FROM provider p, c WHERE p.id = c.provider_id),
    'in_network', EXISTS (SELECT FROM ctr),
    'fee_schedule', (SELECT coalesce(jsonb_agg(jsonb_build_object(
                         'cpt_code', f.cpt_code, 'modifier', f.modifier,
                         'allowed_amount', f.allowed_amount::text) ORDER BY f.cpt_code, f.modifier), '[]')
                     FROM fee_schedule f, ctr, c
                     WHERE f.contract_id = ctr.id AND f.cpt_code IN (SELECT cpt_code FROM codes)
                       AND c.service_from >= f.effective_date
                       AND (f.termination_date IS NULL OR c.service_from <= f.termination_date)),
    'cpt', (SELECT coalesce(jsonb_agg(jsonb_build_object(
                'code', t.code, 'benefit_category', t.benefit_category,
                'description', t.short_description) ORDER BY t.code), '[]')
            FROM cpt_code t WHERE t.code IN (SELECT cpt_code FROM codes)),
    'icd10', (SELECT coalesce(jsonb_agg(jsonb_build_object(
                  'code', i.code, 'description', i.short_description) ORDER BY i.code), '[]')
              FROM icd10_code i WHERE i.code IN (SELECT icd10_code FROM claim_diagnosis WHERE claim_id = p_claim)),
    'ncci', (SELECT coalesce(jsonb_agg(jsonb_build_object(
                 'column1', n.column1_code, 'column2', n.column2_code,
                 'indicator', n.modifier_indicator)), '[]')
             FROM ncci_ptp n, c
             WHERE n.column1_code IN (SELECT cpt_code FROM codes) AND n.column2_code IN (SELECT cpt_code FROM codes)
               AND c.service_from >= n.effective_date
               AND (n.deletion_date IS NULL OR c.service_from < n.deletion_date)),
    -- The member's other claims of the last two years, for duplicate edits
    -- and the related-claims timeline.
    'history', (SELECT coalesce(jsonb_agg(h.o ORDER BY h.service_from DESC), '[]') FROM (
                    SELECT o.service_from, jsonb_build_object(
                        'id', o.id, 'claim_number', o.claim_number, 'status', o.status,
                        'provider_npi', (SELECT npi FROM provider WHERE id = o.provider_id),
                        'service_from', o.service_from, 'service_to', o.service_to,
                        'total_billed', o.total_billed::text,
                        'lines', (SELECT coalesce(jsonb_agg(jsonb_build_object(
                                      'cpt_code', l.cpt_code,
                                      'place_of_service', coalesce(l.place_of_service, o.place_of_service, ''),
                                      'billed', l.billed::text) ORDER BY l.line_number), '[]')
                                  FROM claim_line l WHERE l.claim_id = o.id)) AS o
                    FROM claim o, c
                    WHERE o.member_id = c.member_id AND o.id <> c.id
                      AND o.service_from >= c.service_from - 730
                    ORDER BY o.service_from DESC LIMIT 50) h),
    'authority_limit', authority_limit_for(session_user)::text)
FROM c
$$;

REVOKE EXECUTE ON FUNCTION claim_pricing_facts(uuid) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION claim_pricing_facts(uuid) TO claimdesk_adjudicator;
SELECT assign_ownership();
