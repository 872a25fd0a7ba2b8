-- Central is the authority for a decision's money (issue 19).
--
-- Until now claim_decide stored whatever line figures the desktop sent and
-- added the member's share to the accumulators without a lock, so two
-- claims of one family decided close together could both take the same
-- deductible room, an engine-denied claim could be approved, and a partial
-- approval's patient share vanished. The desktop still prices (it must work
-- offline and show figures at once); here, in the decision's transaction,
-- central re-checks every figure against its own state:
--   * each line balances as on an 835: paid + its CAS adjustments = billed,
--     the cost-share columns equal their PR 1/2/3 adjustments, nothing is
--     negative, and every adjustment's group is one its CARC is reported with;
--   * the member's cost share fits the deductible and out-of-pocket room
--     left now, individual and family, under a lock on the policy (the
--     family), so concurrent decisions serialise per family and never pass
--     the plan maxima;
--   * the room the desktop priced against is still the room now, or the
--     decision is refused (CD009) so the desktop re-prices before the person
--     confirms again;
--   * what the engine denies outright (not eligible on the date of service,
--     an excluded provider, an exact duplicate received earlier) cannot be
--     approved (CD010); what it holds (suspect duplicate, provider not
--     credentialed) can be approved only with an override reason (CD011),
--     kept on the claim and in the audit trail;
--   * benefit visit and annual limits (CARC 119) hold (CD014).
-- What a decision booked is kept per claim (claim_booking), so returning a
-- routed claim, or deciding a claim again, takes its share back out exactly.
--
-- Where the seeds differ: seed 004 keeps benefit usage only as a count on
-- the accumulator row; a payer needs it per benefit category (visits and
-- dollars each have their own limit), so it gets its own table.

SET LOCAL search_path = claimdesk, public, pg_catalog;

-- The 835's CAS adjustments per line: [{"group":"CO","carc":"45","amount":"20.00"}].
ALTER TABLE claim_line ADD COLUMN adjustments jsonb NOT NULL DEFAULT '[]'
    CHECK (jsonb_typeof(adjustments) = 'array');

-- A replacement (frequency 7) or void (8) names the claim it replaces.
ALTER TABLE claim ADD COLUMN replaces_claim_id uuid REFERENCES claim;
-- An approval over a held edit (suspect duplicate, provider not
-- credentialed) says why, and which edits it overrode.
ALTER TABLE claim ADD COLUMN override_reason text,
                  ADD COLUMN overridden_edits text[] NOT NULL DEFAULT '{}';
ALTER TABLE claim ADD CONSTRAINT claim_override_explained
    CHECK (cardinality(overridden_edits) = 0 OR length(btrim(coalesce(override_reason, ''))) > 0);
-- A pend that waits for information from outside returns to the queue when
-- the information arrives (an attachment or a note, 0021): pends whose
-- reason says so, and any "request information" decision.
ALTER TABLE pend_reason ADD COLUMN awaits_information boolean NOT NULL DEFAULT false;
UPDATE pend_reason SET awaits_information = true WHERE code IN ('records', 'cob', 'provider_info', 'member_info');
ALTER TABLE claim ADD COLUMN awaiting_information boolean NOT NULL DEFAULT false;
-- Receipt order for duplicate edits: the earlier claim is the original.
CREATE INDEX claim_member_dates_idx ON claim (member_id, service_to, service_from);
-- The family's totals by policy (the unique key leads with the member, so
-- a family's sum was a scan of every accumulator: 25 ms a decision at
-- 270,000 members, measured).
CREATE INDEX accumulator_family_idx ON accumulator (policy_id, plan_year) INCLUDE (deductible_met, oop_met);

-- Benefit usage per member, policy, plan year and benefit category.
CREATE TABLE benefit_usage (
    member_id uuid NOT NULL REFERENCES member,
    policy_id uuid NOT NULL REFERENCES policy,
    plan_year int NOT NULL CHECK (plan_year BETWEEN 2000 AND 2100),
    benefit_category text NOT NULL REFERENCES benefit_category,
    visits int NOT NULL DEFAULT 0 CHECK (visits >= 0),
    paid numeric(12,2) NOT NULL DEFAULT 0 CHECK (paid >= 0),
    updated_at timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (member_id, policy_id, plan_year, benefit_category)
);

-- What each decision added to the accumulators and benefit usage; a
-- reversal row takes one booking back out. Append-only: the rows are the
-- evidence that accumulators equal the sum of what was booked.
CREATE TABLE claim_booking (
    id uuid PRIMARY KEY,
    claim_id uuid NOT NULL REFERENCES claim,
    member_id uuid NOT NULL REFERENCES member,
    policy_id uuid NOT NULL REFERENCES policy,
    plan_year int NOT NULL,
    deductible numeric(12,2) NOT NULL,
    oop numeric(12,2) NOT NULL,
    -- [{"category": "office_visit", "visits": 1, "paid": "80.00"}]
    usage jsonb NOT NULL DEFAULT '[]',
    reverses uuid UNIQUE REFERENCES claim_booking,
    reason text NOT NULL,
    booked_by text NOT NULL DEFAULT session_user,
    booked_at timestamptz NOT NULL DEFAULT now(),
    CHECK ((reverses IS NULL) = (deductible >= 0 AND oop >= 0))
);
CREATE INDEX claim_booking_claim_idx ON claim_booking (claim_id);
CREATE TRIGGER claim_booking_immutable BEFORE UPDATE OR DELETE ON claim_booking
    FOR EACH ROW EXECUTE FUNCTION audit_log_immutable();

-- The policy, plan and plan year a claim's money counts in: the coverage
-- eligibility found on the date of service, else the claim's own policy
-- (the same choice claim_pricing_facts makes, so both sides count alike).
CREATE FUNCTION claim_money_context(c claim,
    OUT policy_id uuid, OUT plan_id uuid, OUT plan_year int,
    OUT is_eligible boolean, OUT eligibility_reason text, OUT eligibility_explanation text)
LANGUAGE plpgsql STABLE SET search_path = claimdesk, pg_catalog AS $$
DECLARE e record;
BEGIN
    SELECT * INTO e FROM check_eligibility(c.member_id, c.service_from);
    policy_id := coalesce(e.policy_id, c.policy_id);
    plan_id := coalesce(e.plan_id, (SELECT p.plan_id FROM policy p WHERE p.id = c.policy_id));
    plan_year := plan_year_of(plan_id, c.service_from);
    is_eligible := coalesce(e.is_eligible, false);
    eligibility_reason := e.reason;
    eligibility_explanation := e.explanation;
END
$$;

-- Takes back what claim p_claim's standing booking added, if it has one.
CREATE FUNCTION claim_unbook(p_claim uuid, p_reason text) RETURNS void
LANGUAGE plpgsql SET search_path = claimdesk, pg_catalog AS $$
DECLARE
    b claim_booking;
    u jsonb;
BEGIN
    SELECT * INTO b FROM claim_booking k
    WHERE k.claim_id = p_claim AND k.reverses IS NULL
      AND NOT EXISTS (SELECT FROM claim_booking r WHERE r.reverses = k.id);
    IF NOT FOUND THEN
        RETURN;
    END IF;
    PERFORM FROM policy WHERE id = b.policy_id FOR NO KEY UPDATE;
    UPDATE accumulator SET deductible_met = deductible_met - b.deductible, oop_met = oop_met - b.oop,
                           updated_at = now()
    WHERE member_id = b.member_id AND policy_id = b.policy_id AND plan_year = b.plan_year;
    FOR u IN SELECT * FROM jsonb_array_elements(b.usage) LOOP
        UPDATE benefit_usage SET visits = visits - (u ->> 'visits')::int, paid = paid - (u ->> 'paid')::numeric,
                                 updated_at = now()
        WHERE member_id = b.member_id AND policy_id = b.policy_id AND plan_year = b.plan_year
          AND benefit_category = u ->> 'category';
    END LOOP;
    INSERT INTO claim_booking (id, claim_id, member_id, policy_id, plan_year, deductible, oop, usage, reverses, reason)
    VALUES (gen_random_uuid(), p_claim, b.member_id, b.policy_id, b.plan_year, -b.deductible, -b.oop,
            (SELECT coalesce(jsonb_agg(jsonb_build_object('category', x ->> 'category',
                                                          'visits', -(x ->> 'visits')::int,
                                                          'paid', (-(x ->> 'paid')::numeric)::text)), '[]')
             FROM jsonb_array_elements(b.usage) x),
            b.id, p_reason);
END
$$;

-- Checks the lines of a decision and writes them. Raises CD008 with the
-- line and the rule; never echoes amounts a log could keep.
CREATE FUNCTION claim_write_lines(p_claim uuid, p_decision text, p_lines jsonb) RETURNS void
LANGUAGE plpgsql SET search_path = claimdesk, pg_catalog AS $$
DECLARE
    l jsonb;
    a jsonb;
    cl claim_line;
    v_lines int;
    v_sum numeric;
    v_pr1 numeric;
    v_pr2 numeric;
    v_pr3 numeric;
    v_amount numeric;
    n text;
BEGIN
    SELECT count(*) INTO v_lines FROM claim_line WHERE claim_id = p_claim;
    IF jsonb_typeof(p_lines) IS DISTINCT FROM 'array' OR jsonb_array_length(p_lines) <> v_lines THEN
        RAISE EXCEPTION 'the decision must give figures for all % lines', v_lines USING ERRCODE = 'CD005';
    END IF;
    IF (SELECT count(DISTINCT x ->> 'line_number') FROM jsonb_array_elements(p_lines) x) <> v_lines THEN
        RAISE EXCEPTION 'the decision names a line twice' USING ERRCODE = 'CD005';
    END IF;
    FOR l IN SELECT * FROM jsonb_array_elements(p_lines) LOOP
        n := l ->> 'line_number';
        SELECT * INTO cl FROM claim_line WHERE claim_id = p_claim AND line_number = n::int;
        IF NOT FOUND THEN
            RAISE EXCEPTION 'no line %', n USING ERRCODE = 'CD005';
        END IF;
        IF (l ->> 'allowed') IS NULL OR (l ->> 'deductible') IS NULL OR (l ->> 'copay') IS NULL
           OR (l ->> 'coinsurance') IS NULL OR (l ->> 'paid') IS NULL THEN
            RAISE EXCEPTION 'line % lacks a figure', n USING ERRCODE = 'CD008';
        END IF;
        IF least((l ->> 'allowed')::numeric, (l ->> 'deductible')::numeric, (l ->> 'copay')::numeric,
                 (l ->> 'coinsurance')::numeric, (l ->> 'paid')::numeric) < 0 THEN
            RAISE EXCEPTION 'line %: an amount is negative', n USING ERRCODE = 'CD008';
        END IF;
        IF (l ->> 'allowed')::numeric > cl.billed OR (l ->> 'paid')::numeric > (l ->> 'allowed')::numeric THEN
            RAISE EXCEPTION 'line %: paid must be within allowed, and allowed within billed', n USING ERRCODE = 'CD008';
        END IF;
        IF jsonb_typeof(l -> 'adjustments') IS DISTINCT FROM 'array' THEN
            RAISE EXCEPTION 'line % has no adjustments: billed = paid + adjustments cannot be checked', n
                USING ERRCODE = 'CD008';
        END IF;
        v_sum := 0; v_pr1 := 0; v_pr2 := 0; v_pr3 := 0;
        FOR a IN SELECT * FROM jsonb_array_elements(l -> 'adjustments') LOOP
            v_amount := (a ->> 'amount')::numeric;
            IF v_amount IS NULL OR v_amount < 0 THEN
                RAISE EXCEPTION 'line %: an adjustment amount is missing or negative', n USING ERRCODE = 'CD008';
            END IF;
            IF NOT EXISTS (SELECT FROM carc WHERE code = a ->> 'carc' AND (a ->> 'group') = ANY (group_codes)) THEN
                RAISE EXCEPTION 'line %: reason % is not reported with group %', n, a ->> 'carc', a ->> 'group'
                    USING ERRCODE = 'CD008';
            END IF;
            v_sum := v_sum + v_amount;
            IF a ->> 'group' = 'PR' THEN
                CASE a ->> 'carc'
                    WHEN '1' THEN v_pr1 := v_pr1 + v_amount;
                    WHEN '2' THEN v_pr2 := v_pr2 + v_amount;
                    WHEN '3' THEN v_pr3 := v_pr3 + v_amount;
                    ELSE NULL;
                END CASE;
            END IF;
        END LOOP;
        IF (l ->> 'paid')::numeric + v_sum <> cl.billed THEN
            RAISE EXCEPTION 'line % does not balance: paid plus adjustments must equal billed', n USING ERRCODE = 'CD008';
        END IF;
        IF v_pr1 <> (l ->> 'deductible')::numeric OR v_pr2 <> (l ->> 'coinsurance')::numeric
           OR v_pr3 <> (l ->> 'copay')::numeric THEN
            RAISE EXCEPTION 'line %: deductible, coinsurance and copay must equal their PR 1, 2 and 3 adjustments', n
                USING ERRCODE = 'CD008';
        END IF;
        IF (l ->> 'carc') IS NOT NULL AND NOT EXISTS (
            SELECT FROM carc WHERE code = l ->> 'carc' AND (l ->> 'group_code') = ANY (group_codes)) THEN
            RAISE EXCEPTION 'line %: reason % is not reported with group %', n, l ->> 'carc', l ->> 'group_code'
                USING ERRCODE = 'CD008';
        END IF;
        -- A line that pays nothing is a denied line: it needs its codes.
        IF (l ->> 'paid')::numeric = 0 AND ((l ->> 'carc') IS NULL OR (l ->> 'group_code') IS NULL) THEN
            RAISE EXCEPTION 'denied line % needs a group code and a reason code', n USING ERRCODE = 'CD005';
        END IF;
        IF p_decision = 'deny' AND (l ->> 'paid')::numeric <> 0 THEN
            RAISE EXCEPTION 'a denial pays nothing (line %)', n USING ERRCODE = 'CD008';
        END IF;
        UPDATE claim_line SET
            allowed = (l ->> 'allowed')::numeric,
            deductible = (l ->> 'deductible')::numeric,
            copay = (l ->> 'copay')::numeric,
            coinsurance = (l ->> 'coinsurance')::numeric,
            paid = (l ->> 'paid')::numeric,
            group_code = l ->> 'group_code',
            carc = l ->> 'carc',
            rarc = coalesce(ARRAY(SELECT jsonb_array_elements_text(l -> 'rarc')), '{}'),
            adjustments = l -> 'adjustments'
        WHERE id = cl.id;
    END LOOP;
END
$$;

-- What the engine would deny outright, or hold, for this claim, by central's
-- own data: [{"code", "action": "deny"|"hold", "explanation"}]. Mirrors the
-- desktop engine's claim edits that must never be approved past silently.
CREATE FUNCTION claim_blocking_edits(c claim, p_eligible boolean, p_eligibility_explanation text)
RETURNS jsonb
LANGUAGE plpgsql STABLE SET search_path = claimdesk, pg_catalog AS $$
DECLARE
    v_out jsonb := '[]';
    p provider;
    v_ours text;
    v_prior record;
BEGIN
    IF NOT p_eligible THEN
        v_out := v_out || jsonb_build_object('code', 'not_eligible', 'action', 'deny',
            'explanation', 'The member was not covered on the date of service: ' || coalesce(p_eligibility_explanation, 'no coverage.'));
    END IF;
    SELECT * INTO p FROM provider WHERE id = c.provider_id;
    IF p.excluded AND (p.exclusion_date IS NULL OR p.exclusion_date <= c.service_from) THEN
        v_out := v_out || jsonb_build_object('code', 'provider_excluded', 'action', 'deny',
            'explanation', 'The provider is on an exclusion list; no payment is allowed.');
    END IF;
    IF NOT EXISTS (SELECT FROM provider_credential pc
                   WHERE pc.provider_id = c.provider_id AND pc.credential_type = 'medical_license'
                     AND pc.status = 'verified'
                     AND (pc.expiration_date IS NULL OR pc.expiration_date >= c.service_from)) THEN
        v_out := v_out || jsonb_build_object('code', 'provider_not_credentialed', 'action', 'hold',
            'explanation', 'The provider had no verified, current credentials on the date of service.');
    END IF;
    -- Duplicates: only claims received before this one, never the claim a
    -- replacement or void replaces, never for a void itself.
    IF c.frequency_code <> '8' THEN
        v_ours := (SELECT string_agg(l.cpt_code || '|' || coalesce(l.place_of_service, c.place_of_service, '') || '|' || l.billed::text,
                                     ',' ORDER BY l.cpt_code, coalesce(l.place_of_service, c.place_of_service, ''), l.billed)
                   FROM claim_line l WHERE l.claim_id = c.id);
        FOR v_prior IN
            SELECT o.claim_number, o.provider_id = c.provider_id AS same_provider,
                   o.service_from = c.service_from AND o.service_to = c.service_to AS same_dates,
                   (SELECT string_agg(l.cpt_code || '|' || coalesce(l.place_of_service, o.place_of_service, '') || '|' || l.billed::text,
                                      ',' ORDER BY l.cpt_code, coalesce(l.place_of_service, o.place_of_service, ''), l.billed)
                    FROM claim_line l WHERE l.claim_id = o.id) AS lines,
                   EXISTS (SELECT FROM claim_line l WHERE l.claim_id = o.id
                           AND l.cpt_code IN (SELECT cpt_code FROM claim_line WHERE claim_id = c.id)) AS shares_code
            FROM claim o
            WHERE o.member_id = c.member_id AND o.id <> c.id
              AND o.id IS DISTINCT FROM c.replaces_claim_id
              AND o.status NOT IN ('denied', 'void')
              AND o.service_from <= c.service_to AND c.service_from <= o.service_to
              AND (o.received_at, o.claim_number) < (c.received_at, c.claim_number)
            ORDER BY o.received_at, o.claim_number
        LOOP
            IF v_prior.same_provider AND v_prior.same_dates AND v_prior.lines IS NOT DISTINCT FROM v_ours THEN
                v_out := v_out || jsonb_build_object('code', 'exact_duplicate', 'action', 'deny',
                    'explanation', format('Exact duplicate of claim %s: same member, provider, dates, services, places and charges.',
                                          v_prior.claim_number));
                EXIT;
            ELSIF v_prior.same_provider OR v_prior.shares_code THEN
                IF NOT v_out @> '[{"code": "suspect_duplicate"}]' THEN
                    v_out := v_out || jsonb_build_object('code', 'suspect_duplicate', 'action', 'hold',
                        'explanation', format('Possible duplicate of claim %s (overlapping dates).', v_prior.claim_number));
                END IF;
            END IF;
        END LOOP;
    END IF;
    RETURN v_out;
END
$$;

-- Records a decision (restated whole from 0009). New here: the line checks,
-- the engine's blocking edits, the per-family lock and room checks, the
-- priced-against comparison, benefit limits, the booking, and the override.
-- p_priced_against is what the desktop priced against:
--   {"accumulators": {"individual_deductible", "individual_oop",
--                     "family_deductible", "family_oop"},
--    "benefit_usage": {"<category>": {"visits": n, "paid": "0.00"}}}
DROP FUNCTION claim_decide(uuid, int, text, jsonb, text, text, text, text);
CREATE FUNCTION claim_decide(
    p_claim uuid, p_version int, p_decision text, p_lines jsonb,
    p_denial_group_code text DEFAULT NULL, p_denial_carc text DEFAULT NULL,
    p_explanation text DEFAULT NULL, p_pend_reason text DEFAULT NULL,
    p_override_reason text DEFAULT NULL, p_priced_against jsonb DEFAULT NULL
) RETURNS int
LANGUAGE plpgsql SECURITY DEFINER SET search_path = claimdesk, pg_catalog AS $$
DECLARE
    c claim;
    ctx record;
    pl plan;
    v_status text;
    v_paid numeric;
    v_deductible numeric := 0;
    v_oop numeric := 0;
    v_member numeric;
    v_ind accumulator;
    v_fam_ded numeric;
    v_fam_oop numeric;
    v_blocking jsonb := '[]';
    v_overridden text[] := '{}';
    v_edit jsonb;
    v_usage jsonb := '[]';
    u record;
    v_seen jsonb;
    v_pays boolean;
BEGIN
    PERFORM require_role(ARRAY['claimdesk_adjudicator']);
    c := claim_for_holder(p_claim);
    IF c.version <> p_version THEN
        RAISE EXCEPTION 'the claim changed since you opened it (version % now, you saw %)', c.version, p_version
            USING ERRCODE = 'CD001';
    END IF;
    IF c.status NOT IN ('received', 'in_review', 'pended', 'appealed') THEN
        RAISE EXCEPTION 'a % claim cannot be decided', c.status USING ERRCODE = 'CD003';
    END IF;
    v_status := CASE p_decision
        WHEN 'approve' THEN 'approved'
        WHEN 'partial' THEN 'partially_approved'
        WHEN 'deny' THEN 'denied'
        WHEN 'pend' THEN 'pended'
        WHEN 'request_info' THEN 'pended'
    END;
    IF v_status IS NULL THEN
        RAISE EXCEPTION 'unknown decision %', p_decision USING ERRCODE = 'CD005';
    END IF;
    IF v_status = 'denied' AND (p_denial_carc IS NULL OR p_denial_group_code IS NULL
                                OR length(btrim(coalesce(p_explanation, ''))) = 0) THEN
        RAISE EXCEPTION 'a denial needs a group code, a reason code and an explanation' USING ERRCODE = 'CD005';
    END IF;
    IF v_status = 'denied' AND NOT EXISTS (SELECT FROM carc WHERE code = p_denial_carc
                                           AND p_denial_group_code = ANY (group_codes)) THEN
        RAISE EXCEPTION 'reason % is not reported with group %', p_denial_carc, p_denial_group_code
            USING ERRCODE = 'CD008';
    END IF;
    IF v_status = 'partially_approved' AND length(btrim(coalesce(p_explanation, ''))) = 0 THEN
        RAISE EXCEPTION 'a partial approval needs a justification' USING ERRCODE = 'CD005';
    END IF;
    IF v_status = 'pended' AND p_pend_reason IS NULL THEN
        RAISE EXCEPTION 'a pend needs a reason' USING ERRCODE = 'CD005';
    END IF;
    v_pays := v_status IN ('approved', 'partially_approved');

    IF v_status <> 'pended' THEN
        ctx := claim_money_context(c);
        -- One decision at a time per family: the policy row is the family's
        -- lock (claim first, then policy, in every function that takes both).
        IF ctx.policy_id IS NOT NULL THEN
            PERFORM FROM policy WHERE id = ctx.policy_id FOR NO KEY UPDATE;
        END IF;
        -- The engine's blocking edits read only what the decision does not
        -- change, so they go before the first audited write: an audited
        -- transaction holds its audit lane from that write to its commit.
        IF v_pays THEN
            v_blocking := claim_blocking_edits(c, ctx.is_eligible, ctx.eligibility_explanation);
            FOR v_edit IN SELECT * FROM jsonb_array_elements(v_blocking) LOOP
                IF v_edit ->> 'action' = 'deny' THEN
                    RAISE EXCEPTION '%', v_edit ->> 'explanation'
                        USING ERRCODE = 'CD010', DETAIL = v_edit ->> 'code';
                END IF;
                IF length(btrim(coalesce(p_override_reason, ''))) = 0 THEN
                    RAISE EXCEPTION '% Approving it needs an override reason.', v_edit ->> 'explanation'
                        USING ERRCODE = 'CD011', DETAIL = v_edit ->> 'code';
                END IF;
                v_overridden := v_overridden || (v_edit ->> 'code');
            END LOOP;
        END IF;
        -- Deciding again (a returned or appealed claim) starts from nothing booked.
        PERFORM claim_unbook(p_claim, 'decided again');
        PERFORM claim_write_lines(p_claim, p_decision, p_lines);
        SELECT sum(paid), sum(deductible), sum(deductible + copay + coinsurance),
               sum(coalesce((SELECT sum((a ->> 'amount')::numeric) FROM jsonb_array_elements(l.adjustments) a
                             WHERE a ->> 'group' = 'PR'), 0))
        INTO v_paid, v_deductible, v_oop, v_member
        FROM claim_line l WHERE l.claim_id = p_claim;

        IF v_pays AND ctx.policy_id IS NOT NULL THEN
            SELECT * INTO pl FROM plan WHERE id = ctx.plan_id;
            SELECT * INTO v_ind FROM accumulator
            WHERE member_id = c.member_id AND policy_id = ctx.policy_id AND plan_year = ctx.plan_year;
            SELECT coalesce(sum(deductible_met), 0), coalesce(sum(oop_met), 0) INTO v_fam_ded, v_fam_oop
            FROM accumulator WHERE policy_id = ctx.policy_id AND plan_year = ctx.plan_year;

            -- This claim's use of each benefit category (a visit: a service
            -- date with a paid line), against the plan's limits.
            FOR u IN
                SELECT t.benefit_category AS category, b.visit_limit, b.annual_limit,
                       count(DISTINCT l.service_date) FILTER (WHERE l.paid > 0)::int AS visits,
                       sum(l.paid) AS paid,
                       coalesce(bu.visits, 0) AS visits_before, coalesce(bu.paid, 0) AS paid_before
                FROM claim_line l
                JOIN cpt_code t ON t.code = l.cpt_code
                LEFT JOIN plan_benefit b ON b.plan_id = ctx.plan_id AND b.benefit_category = t.benefit_category
                LEFT JOIN benefit_usage bu ON bu.member_id = c.member_id AND bu.policy_id = ctx.policy_id
                     AND bu.plan_year = ctx.plan_year AND bu.benefit_category = t.benefit_category
                WHERE l.claim_id = p_claim
                GROUP BY t.benefit_category, b.visit_limit, b.annual_limit, bu.visits, bu.paid
            LOOP
                -- The usage the desktop priced against must be today's.
                IF p_priced_against IS NOT NULL THEN
                    v_seen := p_priced_against -> 'benefit_usage' -> u.category;
                    IF (u.visit_limit IS NOT NULL OR u.annual_limit IS NOT NULL)
                       AND (coalesce((v_seen ->> 'visits')::int, 0) <> u.visits_before
                            OR coalesce((v_seen ->> 'paid')::numeric, 0) <> u.paid_before) THEN
                        RAISE EXCEPTION 'the member''s use of the % benefit changed since this claim was priced', u.category
                            USING ERRCODE = 'CD009';
                    END IF;
                END IF;
                IF u.visit_limit IS NOT NULL AND u.visits_before + u.visits > u.visit_limit THEN
                    RAISE EXCEPTION '% visits: % of % used this plan year; this claim would pass the limit',
                        replace(u.category, '_', ' '), u.visits_before, u.visit_limit USING ERRCODE = 'CD014';
                END IF;
                IF u.annual_limit IS NOT NULL AND u.paid_before + u.paid > u.annual_limit THEN
                    RAISE EXCEPTION '% benefit: this claim would pay past the annual limit', replace(u.category, '_', ' ')
                        USING ERRCODE = 'CD014';
                END IF;
                IF u.visits > 0 OR u.paid > 0 THEN
                    v_usage := v_usage || jsonb_build_object('category', u.category, 'visits', u.visits, 'paid', u.paid::text);
                END IF;
            END LOOP;

            IF p_priced_against IS NOT NULL AND (
                   coalesce((p_priced_against #>> '{accumulators,individual_deductible}')::numeric, -1)
                       <> coalesce(v_ind.deductible_met, 0)
                OR coalesce((p_priced_against #>> '{accumulators,individual_oop}')::numeric, -1)
                       <> coalesce(v_ind.oop_met, 0)
                OR coalesce((p_priced_against #>> '{accumulators,family_deductible}')::numeric, -1) <> v_fam_ded
                OR coalesce((p_priced_against #>> '{accumulators,family_oop}')::numeric, -1) <> v_fam_oop) THEN
                RAISE EXCEPTION 'the member''s deductible or out-of-pocket totals changed since this claim was priced'
                    USING ERRCODE = 'CD009';
            END IF;
            -- Whatever the desktop saw, the share must fit the room left now.
            IF v_deductible > least(pl.deductible_individual - coalesce(v_ind.deductible_met, 0),
                                    pl.deductible_family - v_fam_ded)
               OR v_oop > least(pl.oop_max_individual - coalesce(v_ind.oop_met, 0), pl.oop_max_family - v_fam_oop) THEN
                RAISE EXCEPTION 'the member''s cost share would pass the deductible or out-of-pocket maximum left'
                    USING ERRCODE = CASE WHEN p_priced_against IS NULL THEN 'CD009' ELSE 'CD008' END;
            END IF;

            INSERT INTO accumulator AS a (id, member_id, policy_id, plan_year, deductible_met, oop_met)
            VALUES (gen_random_uuid(), c.member_id, ctx.policy_id, ctx.plan_year, v_deductible, v_oop)
            ON CONFLICT (member_id, policy_id, plan_year) DO UPDATE
                SET deductible_met = a.deductible_met + EXCLUDED.deductible_met,
                    oop_met = a.oop_met + EXCLUDED.oop_met,
                    updated_at = now();
            INSERT INTO benefit_usage AS b (member_id, policy_id, plan_year, benefit_category, visits, paid)
            SELECT c.member_id, ctx.policy_id, ctx.plan_year, x ->> 'category', (x ->> 'visits')::int, (x ->> 'paid')::numeric
            FROM jsonb_array_elements(v_usage) x
            ON CONFLICT (member_id, policy_id, plan_year, benefit_category) DO UPDATE
                SET visits = b.visits + EXCLUDED.visits, paid = b.paid + EXCLUDED.paid, updated_at = now();
            INSERT INTO claim_booking (id, claim_id, member_id, policy_id, plan_year, deductible, oop, usage, reason)
            VALUES (gen_random_uuid(), p_claim, c.member_id, ctx.policy_id, ctx.plan_year, v_deductible, v_oop,
                    v_usage, p_decision);
        END IF;
    END IF;

    -- The request's own note goes first, while the claim is not yet pended,
    -- so it is not taken for the information arriving (0021).
    IF p_decision = 'request_info' THEN
        INSERT INTO claim_note (id, claim_id, author, body)
        VALUES (gen_random_uuid(), p_claim, session_user,
                'Information requested: ' || coalesce(nullif(btrim(p_explanation), ''), p_pend_reason));
    END IF;

    UPDATE claim SET
        status = v_status,
        total_allowed = CASE WHEN v_status = 'pended' THEN total_allowed
                             ELSE (SELECT sum(allowed) FROM claim_line WHERE claim_id = p_claim) END,
        total_paid = CASE WHEN v_status = 'pended' THEN total_paid ELSE v_paid END,
        member_responsibility = CASE WHEN v_status = 'pended' THEN member_responsibility ELSE v_member END,
        awaiting_information = v_status = 'pended' AND (p_decision = 'request_info'
            OR coalesce((SELECT awaits_information FROM pend_reason WHERE code = p_pend_reason), false)),
        denial_group_code = CASE WHEN v_status = 'denied' THEN p_denial_group_code END,
        denial_carc = CASE WHEN v_status = 'denied' THEN p_denial_carc END,
        denial_explanation = CASE WHEN v_status = 'denied' THEN p_explanation END,
        adjudication_notes = CASE WHEN v_status <> 'denied' THEN p_explanation ELSE adjudication_notes END,
        pend_reason = CASE WHEN v_status = 'pended' THEN p_pend_reason END,
        pend_until = CASE WHEN v_status = 'pended'
            THEN current_date + (SELECT default_days FROM pend_reason WHERE code = p_pend_reason) END,
        adjudicated_by = CASE WHEN v_status = 'pended' THEN adjudicated_by ELSE session_user END,
        adjudicated_at = CASE WHEN v_status = 'pended' THEN adjudicated_at ELSE now() END,
        -- Above the decider's authority: a supervisor must approve before payment.
        requires_approval = v_pays AND v_paid > authority_limit_for(session_user),
        approved_by = NULL,
        approved_at = NULL,
        override_reason = CASE WHEN cardinality(v_overridden) > 0 THEN btrim(p_override_reason) END,
        overridden_edits = v_overridden,
        version = version + 1
    WHERE id = p_claim;
    -- A decision ends the lease; a pended claim stays in the queue, unheld.
    UPDATE queue_entry SET lease_holder = NULL, lease_expires_at = NULL, leased_at = NULL
    WHERE claim_id = p_claim;

    IF cardinality(v_overridden) > 0 THEN
        PERFORM audit_append('override', 'claim', p_claim::text, c.member_id, false, NULL,
                             jsonb_build_object('edits', to_jsonb(v_overridden), 'reason', btrim(p_override_reason),
                                                'decision', p_decision));
    END IF;

    RETURN c.version + 1;
END
$$;

-- A supervisor releases a routed claim for payment, or returns it to the
-- queue with a note (restated from 0007). New: nobody approves a claim they
-- decided themselves, nor one paying more than their own authority (it
-- waits for someone with a higher limit); a return takes the claim's
-- booked share back out of the accumulators.
CREATE OR REPLACE FUNCTION claim_approve_routed(p_claim uuid, p_approve boolean, p_note text) RETURNS int
LANGUAGE plpgsql SECURITY DEFINER SET search_path = claimdesk, pg_catalog AS $$
DECLARE c claim;
BEGIN
    PERFORM require_role(ARRAY['claimdesk_supervisor']);
    SELECT * INTO c FROM claim WHERE id = p_claim FOR UPDATE;
    IF NOT FOUND THEN
        RAISE EXCEPTION 'no such claim' USING ERRCODE = 'CD006';
    END IF;
    IF NOT c.requires_approval OR c.approved_by IS NOT NULL THEN
        RAISE EXCEPTION 'the claim is not waiting for approval' USING ERRCODE = 'CD003';
    END IF;
    IF length(btrim(coalesce(p_note, ''))) = 0 THEN
        RAISE EXCEPTION 'say why' USING ERRCODE = 'CD005';
    END IF;
    IF p_approve AND c.adjudicated_by = session_user THEN
        RAISE EXCEPTION 'you decided this claim: another supervisor must approve it' USING ERRCODE = 'CD012';
    END IF;
    IF p_approve AND c.total_paid > authority_limit_for(session_user) THEN
        RAISE EXCEPTION 'the payment is above your authority: a supervisor with a higher limit must approve it'
            USING ERRCODE = 'CD013';
    END IF;
    IF p_approve THEN
        UPDATE claim SET approved_by = session_user, approved_at = now(), version = version + 1 WHERE id = p_claim;
    ELSE
        PERFORM claim_unbook(p_claim, 'returned for review');
        UPDATE claim SET status = 'in_review', requires_approval = false, version = version + 1 WHERE id = p_claim;
    END IF;
    INSERT INTO claim_note (id, claim_id, author, body)
    VALUES (gen_random_uuid(), p_claim, session_user,
            CASE WHEN p_approve THEN 'Approved for payment: ' ELSE 'Returned for review: ' END || p_note);
    RETURN c.version + 1;
END
$$;

-- apply_mutation, restated whole from 0015: a decision carries its
-- override reason and the accumulators it was priced against.
CREATE OR REPLACE FUNCTION apply_mutation(p_key uuid, p_kind text, p_payload jsonb) RETURNS jsonb
LANGUAGE plpgsql SECURITY DEFINER SET search_path = claimdesk, pg_catalog AS $$
DECLARE
    v_prior applied_mutation;
    v_result jsonb;
    v_claim uuid := (p_payload ->> 'claim_id')::uuid;
BEGIN
    PERFORM require_role(ARRAY['claimdesk_adjudicator', 'claimdesk_credentialing', 'claimdesk_admin']);
    INSERT INTO applied_mutation (key, login, kind, claim_id, result)
    VALUES (p_key, session_user, p_kind, v_claim, '{}')
    ON CONFLICT (key) DO NOTHING;
    IF NOT FOUND THEN
        -- Seen before (a retry after a cut connection), or another login's key.
        SELECT * INTO v_prior FROM applied_mutation WHERE key = p_key;
        IF v_prior.login IS DISTINCT FROM session_user::text OR v_prior.kind <> p_kind THEN
            RAISE EXCEPTION 'mutation key % belongs to another request', p_key USING ERRCODE = 'CD005';
        END IF;
        RETURN v_prior.result || jsonb_build_object('applied', false);
    END IF;

    CASE p_kind
    WHEN 'decide' THEN
        v_result := jsonb_build_object('version', claim_decide(
            v_claim, (p_payload ->> 'version')::int, p_payload ->> 'decision',
            coalesce(p_payload -> 'lines', '[]'), p_payload ->> 'denial_group_code',
            p_payload ->> 'denial_carc', p_payload ->> 'explanation', p_payload ->> 'pend_reason',
            p_payload ->> 'override_reason', nullif(p_payload -> 'priced_against', 'null'::jsonb)));
    WHEN 'note' THEN
        v_result := jsonb_build_object('note_id', claim_add_note(v_claim, p_payload ->> 'body'));
    WHEN 'phi_view' THEN
        -- The time the person looked, not the time the event reached us.
        v_result := jsonb_build_object('audit_id', audit_append(
            'view', p_payload ->> 'resource_type', p_payload ->> 'resource_id',
            (p_payload ->> 'member_id')::uuid, true, NULL,
            jsonb_build_object('viewed_at', p_payload ->> 'viewed_at', 'via', 'outbox')));
    WHEN 'phi_export' THEN
        v_result := jsonb_build_object('audit_id', audit_append(
            'export', p_payload ->> 'resource_type', p_payload ->> 'resource_id',
            (p_payload ->> 'member_id')::uuid, true, NULL,
            jsonb_build_object('exported_at', p_payload ->> 'exported_at',
                               'file_name', p_payload ->> 'file_name', 'via', 'outbox')));
    WHEN 'attach' THEN
        v_result := jsonb_build_object('document_id', claim_attach_document(
            v_claim, (p_payload ->> 'document_id')::uuid, p_payload ->> 'document_type',
            p_payload ->> 'file_name', p_payload ->> 'mime_type',
            decode(p_payload ->> 'content', 'base64')));
    ELSE
        RAISE EXCEPTION 'unknown mutation kind %', p_kind USING ERRCODE = 'CD005';
    END CASE;

    UPDATE applied_mutation SET result = v_result WHERE key = p_key;
    RETURN v_result || jsonb_build_object('applied', true);
END
$$;

-- The pricing facts (restated from 0013): benefits carry their limits, the
-- member's benefit usage comes along, and the duplicate look-back is whole.
CREATE OR REPLACE FUNCTION claim_pricing_facts(p_claim uuid) RETURNS jsonb
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
                     'covered_out_of_network', b.covered_out_of_network,
                     'visit_limit', b.visit_limit,
                     'annual_limit', b.annual_limit::text) ORDER BY b.benefit_category), '[]')
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
    -- The member's other claims: the 50 newest of the last two years for the
    -- timeline, and every claim whose dates overlap this one's, however many,
    -- for the duplicate edits (0013 capped both at 50).
    'history', (SELECT coalesce(jsonb_agg(h.o ORDER BY h.service_from DESC, h.received_at DESC), '[]') FROM (
                    SELECT o.service_from, o.received_at, jsonb_build_object(
                        'id', o.id, 'claim_number', o.claim_number, 'status', o.status,
                        'provider_npi', (SELECT npi FROM provider WHERE id = o.provider_id),
                        'service_from', o.service_from, 'service_to', o.service_to,
                        'received_at', o.received_at, 'frequency_code', o.frequency_code,
                        'total_billed', o.total_billed::text,
                        'lines', (SELECT coalesce(jsonb_agg(jsonb_build_object(
                                      'cpt_code', l.cpt_code,
                                      'place_of_service', coalesce(l.place_of_service, o.place_of_service, ''),
                                      'billed', l.billed::text) ORDER BY l.line_number), '[]')
                                  FROM claim_line l WHERE l.claim_id = o.id)) AS o
                    FROM claim o, c
                    WHERE o.id IN (
                        (SELECT n.id FROM claim n
                         WHERE n.member_id = c.member_id AND n.id <> c.id AND n.service_from >= c.service_from - 730
                         ORDER BY n.service_from DESC LIMIT 50)
                        UNION
                        (SELECT v.id FROM claim v
                         WHERE v.member_id = c.member_id AND v.id <> c.id
                           AND v.service_from <= c.service_to AND c.service_from <= v.service_to))) h),
    -- What the member used this plan year of each benefit category on the
    -- claim, for visit and annual limits.
    'benefit_usage', (SELECT coalesce(jsonb_object_agg(bu.benefit_category, jsonb_build_object(
                          'visits', bu.visits, 'paid', bu.paid::text)), '{}')
                      FROM benefit_usage bu, pol, yr
                      WHERE bu.member_id = (SELECT member_id FROM c) AND bu.policy_id = pol.id
                        AND bu.plan_year = yr.plan_year
                        AND bu.benefit_category IN (SELECT t.benefit_category FROM cpt_code t
                                                    WHERE t.code IN (SELECT cpt_code FROM codes))),
    'authority_limit', authority_limit_for(session_user)::text)
FROM c
$$;

SELECT assign_ownership();
REVOKE EXECUTE ON FUNCTION claim_money_context(claim), claim_unbook(uuid, text),
    claim_write_lines(uuid, text, jsonb), claim_blocking_edits(claim, boolean, text),
    claim_decide(uuid, int, text, jsonb, text, text, text, text, text, jsonb) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION claim_decide(uuid, int, text, jsonb, text, text, text, text, text, jsonb)
    TO claimdesk_adjudicator;
GRANT SELECT ON benefit_usage TO claimdesk_adjudicator, claimdesk_supervisor;
GRANT SELECT ON claim_booking TO claimdesk_supervisor;
