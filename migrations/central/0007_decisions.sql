-- Decisions: the function that records them, authority limits that route
-- large payments to a supervisor, accumulators updated with the decision,
-- "request information", and a reason code on every denied line.

-- public stays on the path: sqlx records the migration in public._sqlx_migrations
-- inside this same transaction.
SET LOCAL search_path = claimdesk, public, pg_catalog;

-- Payment authority per staff group, and per person where a supervisor set
-- one. A decision paying more than the decider's limit waits for approval.
CREATE TABLE authority_default (
    group_role text PRIMARY KEY,
    max_paid numeric(12,2) NOT NULL CHECK (max_paid >= 0)
);
INSERT INTO authority_default VALUES ('claimdesk_adjudicator', 5000.00), ('claimdesk_supervisor', 50000.00);

CREATE TABLE authority_limit (
    login text PRIMARY KEY,
    max_paid numeric(12,2) NOT NULL CHECK (max_paid >= 0),
    set_by text NOT NULL DEFAULT session_user,
    set_at timestamptz NOT NULL DEFAULT now()
);
CREATE TRIGGER audit_row_change AFTER INSERT OR UPDATE OR DELETE ON authority_limit
    FOR EACH ROW EXECUTE FUNCTION audit_row_change();

CREATE FUNCTION authority_limit_for(p_login text) RETURNS numeric
LANGUAGE sql STABLE SET search_path = claimdesk, pg_catalog AS $$
    SELECT coalesce(
        (SELECT max_paid FROM authority_limit WHERE login = p_login),
        (SELECT max(d.max_paid) FROM authority_default d JOIN pg_roles r ON r.rolname = d.group_role
         WHERE pg_has_role(p_login, r.oid, 'MEMBER')),
        0)
$$;

-- A claim routed for approval cannot be paid until a supervisor approves it.
ALTER TABLE claim ADD CONSTRAINT claim_paid_needs_approval
    CHECK (status <> 'paid' OR NOT requires_approval OR approved_by IS NOT NULL);

-- The plan year a date of service falls in, by the plan's start month.
CREATE FUNCTION plan_year_of(p_plan uuid, p_date date) RETURNS int
LANGUAGE sql STABLE SET search_path = claimdesk, pg_catalog AS $$
    SELECT CASE WHEN extract(month FROM p_date) >= p.plan_year_start_month
                THEN extract(year FROM p_date)::int ELSE extract(year FROM p_date)::int - 1 END
    FROM plan p WHERE p.id = p_plan
$$;

-- Records a decision. p_lines carries the engine's per-line figures:
-- [{"line_number":1,"allowed":"80.00","deductible":"0","copay":"20.00",
--   "coinsurance":"0","paid":"60.00","group_code":"CO","carc":"45","rarc":[]}].
-- The database re-checks what must never be wrong whatever the client did:
-- the state machine, the version, the lease, paid <= billed per line and in
-- total, and a code and explanation on every denial.
-- Decisions:
--   approve, partial, deny, pend, request_info.
-- In one transaction: lines and totals, status (history and audit follow by
-- trigger), accumulators, and routing to a supervisor above the limit.
CREATE FUNCTION claim_decide(
    p_claim uuid, p_version int, p_decision text, p_lines jsonb,
    p_denial_group_code text DEFAULT NULL, p_denial_carc text DEFAULT NULL,
    p_explanation text DEFAULT NULL, p_pend_reason text DEFAULT NULL
) RETURNS int
LANGUAGE plpgsql SECURITY DEFINER SET search_path = claimdesk, pg_catalog AS $$
DECLARE
    c claim;
    v_status text;
    l jsonb;
    v_lines int;
    v_paid numeric;
    v_deductible numeric;
    v_member numeric;
    v_plan uuid;
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
    IF v_status = 'partially_approved' AND length(btrim(coalesce(p_explanation, ''))) = 0 THEN
        RAISE EXCEPTION 'a partial approval needs a justification' USING ERRCODE = 'CD005';
    END IF;
    IF v_status = 'pended' AND p_pend_reason IS NULL THEN
        RAISE EXCEPTION 'a pend needs a reason' USING ERRCODE = 'CD005';
    END IF;

    IF v_status <> 'pended' THEN
        SELECT count(*) INTO v_lines FROM claim_line WHERE claim_id = p_claim;
        IF jsonb_typeof(p_lines) IS DISTINCT FROM 'array' OR jsonb_array_length(p_lines) <> v_lines THEN
            RAISE EXCEPTION 'the decision must give figures for all % lines', v_lines USING ERRCODE = 'CD005';
        END IF;
        FOR l IN SELECT * FROM jsonb_array_elements(p_lines) LOOP
            -- A line that pays nothing is a denied line: it needs its codes.
            IF (l ->> 'paid')::numeric = 0 AND ((l ->> 'carc') IS NULL OR (l ->> 'group_code') IS NULL) THEN
                RAISE EXCEPTION 'denied line % needs a group code and a reason code', l ->> 'line_number'
                    USING ERRCODE = 'CD005';
            END IF;
            UPDATE claim_line SET
                allowed = (l ->> 'allowed')::numeric,
                deductible = (l ->> 'deductible')::numeric,
                copay = (l ->> 'copay')::numeric,
                coinsurance = (l ->> 'coinsurance')::numeric,
                paid = (l ->> 'paid')::numeric,
                group_code = l ->> 'group_code',
                carc = l ->> 'carc',
                rarc = coalesce(ARRAY(SELECT jsonb_array_elements_text(l -> 'rarc')), '{}')
            WHERE claim_id = p_claim AND line_number = (l ->> 'line_number')::int;
            IF NOT FOUND THEN
                RAISE EXCEPTION 'no line %', l ->> 'line_number' USING ERRCODE = 'CD005';
            END IF;
        END LOOP;
        SELECT sum(paid), sum(coalesce(deductible, 0)),
               sum(coalesce(deductible, 0) + coalesce(copay, 0) + coalesce(coinsurance, 0))
        INTO v_paid, v_deductible, v_member
        FROM claim_line WHERE claim_id = p_claim;
    END IF;

    UPDATE claim SET
        status = v_status,
        total_allowed = CASE WHEN v_status = 'pended' THEN total_allowed
                             ELSE (SELECT sum(allowed) FROM claim_line WHERE claim_id = p_claim) END,
        total_paid = CASE WHEN v_status = 'pended' THEN total_paid ELSE v_paid END,
        member_responsibility = CASE WHEN v_status = 'pended' THEN member_responsibility ELSE v_member END,
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
        requires_approval = v_status IN ('approved', 'partially_approved')
                            AND v_paid > authority_limit_for(session_user),
        approved_by = NULL,
        approved_at = NULL,
        lease_holder = NULL,
        lease_expires_at = NULL,
        version = version + 1
    WHERE id = p_claim;

    IF p_decision = 'request_info' THEN
        INSERT INTO claim_note (id, claim_id, author, body)
        VALUES (gen_random_uuid(), p_claim, session_user,
                'Information requested: ' || coalesce(nullif(btrim(p_explanation), ''), p_pend_reason));
    END IF;

    -- The member's cost share counts toward this plan year's accumulators.
    IF v_status IN ('approved', 'partially_approved') AND c.policy_id IS NOT NULL THEN
        SELECT plan_id INTO v_plan FROM policy WHERE id = c.policy_id;
        INSERT INTO accumulator AS a (id, member_id, policy_id, plan_year, deductible_met, oop_met)
        VALUES (gen_random_uuid(), c.member_id, c.policy_id, plan_year_of(v_plan, c.service_from),
                v_deductible, v_member)
        ON CONFLICT (member_id, policy_id, plan_year) DO UPDATE
            SET deductible_met = a.deductible_met + EXCLUDED.deductible_met,
                oop_met = a.oop_met + EXCLUDED.oop_met;
    END IF;
    RETURN c.version + 1;
END
$$;

-- A supervisor releases a routed claim for payment, or returns it to the
-- queue with a note.
CREATE FUNCTION claim_approve_routed(p_claim uuid, p_approve boolean, p_note text) RETURNS int
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
    IF p_approve THEN
        UPDATE claim SET approved_by = session_user, approved_at = now(), version = version + 1 WHERE id = p_claim;
    ELSE
        UPDATE claim SET status = 'in_review', requires_approval = false, version = version + 1 WHERE id = p_claim;
    END IF;
    INSERT INTO claim_note (id, claim_id, author, body)
    VALUES (gen_random_uuid(), p_claim, session_user,
            CASE WHEN p_approve THEN 'Approved for payment: ' ELSE 'Returned for review: ' END || p_note);
    RETURN c.version + 1;
END
$$;

SELECT assign_ownership();
REVOKE EXECUTE ON FUNCTION authority_limit_for(text), plan_year_of(uuid, date),
    claim_decide(uuid, int, text, jsonb, text, text, text, text),
    claim_approve_routed(uuid, boolean, text) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION claim_decide(uuid, int, text, jsonb, text, text, text, text),
    authority_limit_for(text) TO claimdesk_adjudicator;
GRANT EXECUTE ON FUNCTION claim_approve_routed(uuid, boolean, text) TO claimdesk_supervisor;
GRANT SELECT ON authority_default, authority_limit TO claimdesk_adjudicator;
