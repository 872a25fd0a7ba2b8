-- Leases move off the claim row into a narrow queue table.
--
-- Why (measured, BENCHMARKS.md): a checkout that writes the lease into the
-- claim row is a non-HOT update of a wide row with a dozen indexes, and it
-- leaves a dead entry at the head of the queue index every time. Autovacuum
-- of a million-claim table cannot keep up, so checkouts slowed by two thirds
-- over 120,000 of them. Here a checkout writes one small row with three
-- indexes; the claim row, its indexes, its audit and its change feed are not
-- touched, and this table is small enough to vacuum every few thousand
-- checkouts.

-- public stays on the path: sqlx records the migration in public._sqlx_migrations
-- inside this same transaction.
SET LOCAL search_path = claimdesk, public, pg_catalog;

-- One row per open claim (received, in review, appealed, pended): its place
-- in the queue, copied from the claim by trigger, and its lease. Pended
-- claims are here so a supervisor can hand one to someone, but they are not
-- checked out from the queue.
CREATE TABLE queue_entry (
    claim_id uuid PRIMARY KEY REFERENCES claim ON DELETE CASCADE,
    priority_rank smallint NOT NULL,
    prompt_pay_due date NOT NULL,
    received_at timestamptz NOT NULL,
    pended boolean NOT NULL,
    restricted boolean NOT NULL,
    lease_holder text,
    lease_expires_at timestamptz,
    leased_at timestamptz,
    CONSTRAINT queue_entry_lease_consistent CHECK (
        (lease_holder IS NULL) = (lease_expires_at IS NULL) AND (lease_holder IS NULL) = (leased_at IS NULL))
) WITH (
    -- Every checkout leaves a dead index entry at the head of the ready
    -- index, and the next checkouts step over it until vacuum removes it.
    -- Vacuum after a few thousand, whatever the table's size, at full speed.
    autovacuum_vacuum_scale_factor = 0,
    autovacuum_vacuum_threshold = 2000,
    autovacuum_vacuum_cost_delay = 0,
    autovacuum_analyze_scale_factor = 0.05
);

-- Checkout order over claims nobody holds. Leased rows leave this index, so a
-- checkout never walks over the claims a floor of adjudicators holds.
CREATE INDEX queue_entry_ready_idx ON queue_entry (priority_rank, prompt_pay_due, received_at, claim_id)
    WHERE lease_holder IS NULL AND NOT pended;
-- Live leases by expiry: expired ones return to the queue at the next
-- checkout (no purge job), and "who holds what" reads the same small index.
CREATE INDEX queue_entry_lease_idx ON queue_entry (lease_expires_at) WHERE lease_holder IS NOT NULL;

INSERT INTO queue_entry (claim_id, priority_rank, prompt_pay_due, received_at, pended, restricted,
                         lease_holder, lease_expires_at, leased_at)
SELECT id, priority_rank, prompt_pay_due, received_at, status = 'pended', restricted,
       lease_holder, lease_expires_at, CASE WHEN lease_holder IS NOT NULL THEN now() END
FROM claim WHERE status IN ('received', 'in_review', 'appealed', 'pended');

-- The constraint and the two lease indexes go with the columns.
ALTER TABLE claim DROP COLUMN lease_holder, DROP COLUMN lease_expires_at;

-- The claim's place in the queue follows its status, priority, dates and
-- restriction. A claim leaving the open statuses leaves the queue.
CREATE FUNCTION queue_follow_claim() RETURNS trigger
LANGUAGE plpgsql SECURITY DEFINER SET search_path = claimdesk, pg_catalog AS $$
BEGIN
    IF NEW.status NOT IN ('received', 'in_review', 'appealed', 'pended') THEN
        DELETE FROM queue_entry WHERE claim_id = NEW.id;
    ELSE
        INSERT INTO queue_entry AS q (claim_id, priority_rank, prompt_pay_due, received_at, pended, restricted)
        VALUES (NEW.id, NEW.priority_rank, NEW.prompt_pay_due, NEW.received_at, NEW.status = 'pended', NEW.restricted)
        ON CONFLICT (claim_id) DO UPDATE SET
            priority_rank = EXCLUDED.priority_rank,
            prompt_pay_due = EXCLUDED.prompt_pay_due,
            received_at = EXCLUDED.received_at,
            pended = EXCLUDED.pended,
            restricted = EXCLUDED.restricted
        WHERE (q.priority_rank, q.prompt_pay_due, q.received_at, q.pended, q.restricted)
              IS DISTINCT FROM (EXCLUDED.priority_rank, EXCLUDED.prompt_pay_due, EXCLUDED.received_at,
                                EXCLUDED.pended, EXCLUDED.restricted);
    END IF;
    RETURN NULL;
END
$$;
CREATE TRIGGER queue_follow_claim AFTER INSERT OR UPDATE OF status, priority, prompt_pay_due, received_at, restricted
    ON claim FOR EACH ROW EXECUTE FUNCTION queue_follow_claim();

-- Rebuilds the queue from the claims, for bulk loads that ran with triggers
-- paused. Leases are kept.
CREATE FUNCTION queue_rebuild() RETURNS bigint
LANGUAGE sql SET search_path = claimdesk, pg_catalog AS $$
    WITH open AS (
        INSERT INTO queue_entry (claim_id, priority_rank, prompt_pay_due, received_at, pended, restricted)
        SELECT id, priority_rank, prompt_pay_due, received_at, status = 'pended', restricted FROM claim
        WHERE status IN ('received', 'in_review', 'appealed', 'pended')
        ON CONFLICT (claim_id) DO NOTHING
        RETURNING 1
    )
    SELECT count(*) FROM open
$$;

-- Row security follows the claim's: restricted claims are visible to
-- supervisors only.
ALTER TABLE queue_entry ENABLE ROW LEVEL SECURITY;
CREATE POLICY queue_entry_unrestricted ON queue_entry FOR SELECT TO claimdesk_staff
    USING (NOT restricted OR pg_has_role('claimdesk_supervisor', 'MEMBER'));

-- Locks the caller's live lease on a claim, or says why there is none.
CREATE FUNCTION lease_for_holder(p_claim uuid) RETURNS queue_entry
LANGUAGE plpgsql SET search_path = claimdesk, pg_catalog AS $$
DECLARE q queue_entry;
BEGIN
    SELECT * INTO q FROM queue_entry WHERE claim_id = p_claim FOR UPDATE;
    IF NOT FOUND AND NOT EXISTS (SELECT FROM claim WHERE id = p_claim) THEN
        RAISE EXCEPTION 'no such claim' USING ERRCODE = 'CD006';
    END IF;
    IF q.lease_holder IS DISTINCT FROM session_user::text OR q.lease_expires_at < now() THEN
        RAISE EXCEPTION 'you do not hold the lease on this claim' USING ERRCODE = 'CD002';
    END IF;
    RETURN q;
END
$$;

-- Locks a claim the caller must hold a live lease on. Claim before queue
-- entry, the order the queue trigger takes them in.
CREATE OR REPLACE FUNCTION claim_for_holder(p_claim uuid) RETURNS claim
LANGUAGE plpgsql SET search_path = claimdesk, pg_catalog AS $$
DECLARE c claim;
BEGIN
    SELECT * INTO c FROM claim WHERE id = p_claim FOR UPDATE;
    IF NOT FOUND THEN
        RAISE EXCEPTION 'no such claim' USING ERRCODE = 'CD006';
    END IF;
    PERFORM lease_for_holder(p_claim);
    RETURN c;
END
$$;

-- Leases the next claim in queue order to the caller. SKIP LOCKED lets a
-- floor of adjudicators check out at once without waiting on each other, and
-- no transaction stays open while they think. Expired leases are returned
-- first, so abandoned claims come back by themselves; when none has expired
-- that costs one index page.
--
-- The lease commits without waiting for the WAL flush. Measured: with a
-- flush per checkout, sixty of sixty-four backends sat in commit, and every
-- checkout stepped over the rows those in-flight leases held, slower the
-- busier the floor. Losing a lease in a server crash is harmless: the claim
-- is back in the queue as if the lease had expired, and the holder's next
-- heartbeat or decision is refused (CD002). Decisions, releases and audit
-- stay synchronous.
CREATE OR REPLACE FUNCTION claim_checkout(p_lease interval DEFAULT interval '15 minutes')
RETURNS TABLE (claim_id uuid, version int, lease_expires_at timestamptz)
LANGUAGE plpgsql SECURITY DEFINER SET search_path = claimdesk, pg_catalog AS $$
#variable_conflict use_column
DECLARE
    v_supervisor boolean := pg_has_role(session_user, 'claimdesk_supervisor', 'MEMBER');
    v_claim uuid;
    v_until timestamptz;
BEGIN
    PERFORM require_role(ARRAY['claimdesk_adjudicator']);
    PERFORM set_config('synchronous_commit', 'off', true);
    IF p_lease < interval '1 minute' OR p_lease > interval '2 hours' THEN
        RAISE EXCEPTION 'lease must be between 1 minute and 2 hours' USING ERRCODE = 'CD005';
    END IF;

    WITH expired AS (
        SELECT q.claim_id FROM queue_entry q
        WHERE q.lease_holder IS NOT NULL AND q.lease_expires_at < now()
        ORDER BY q.lease_expires_at
        LIMIT 50
        FOR UPDATE SKIP LOCKED
    )
    UPDATE queue_entry q SET lease_holder = NULL, lease_expires_at = NULL, leased_at = NULL
    FROM expired WHERE q.claim_id = expired.claim_id;

    WITH next AS (
        SELECT q.claim_id FROM queue_entry q
        WHERE q.lease_holder IS NULL AND NOT q.pended AND (v_supervisor OR NOT q.restricted)
        ORDER BY q.priority_rank, q.prompt_pay_due, q.received_at, q.claim_id
        LIMIT 1
        FOR UPDATE SKIP LOCKED
    )
    UPDATE queue_entry q
    SET lease_holder = session_user, lease_expires_at = now() + p_lease, leased_at = now()
    FROM next WHERE q.claim_id = next.claim_id
    RETURNING q.claim_id, q.lease_expires_at INTO v_claim, v_until;

    IF v_claim IS NULL THEN
        RAISE EXCEPTION 'no claim is waiting in the queue' USING ERRCODE = 'CD007';
    END IF;
    RETURN QUERY SELECT c.id, c.version, v_until FROM claim c WHERE c.id = v_claim;
END
$$;

CREATE OR REPLACE FUNCTION claim_heartbeat(p_claim uuid, p_lease interval DEFAULT interval '15 minutes')
RETURNS timestamptz
LANGUAGE plpgsql SECURITY DEFINER SET search_path = claimdesk, pg_catalog AS $$
DECLARE v_until timestamptz;
BEGIN
    PERFORM require_role(ARRAY['claimdesk_adjudicator']);
    PERFORM lease_for_holder(p_claim);
    -- Like a checkout, a renewal lost in a crash costs nothing.
    PERFORM set_config('synchronous_commit', 'off', true);
    UPDATE queue_entry SET lease_expires_at = now() + least(greatest(p_lease, interval '1 minute'), interval '2 hours')
    WHERE claim_id = p_claim RETURNING lease_expires_at INTO v_until;
    RETURN v_until;
END
$$;

CREATE OR REPLACE FUNCTION claim_release(p_claim uuid) RETURNS void
LANGUAGE plpgsql SECURITY DEFINER SET search_path = claimdesk, pg_catalog AS $$
BEGIN
    PERFORM require_role(ARRAY['claimdesk_adjudicator']);
    PERFORM lease_for_holder(p_claim);
    UPDATE queue_entry SET lease_holder = NULL, lease_expires_at = NULL, leased_at = NULL WHERE claim_id = p_claim;
    PERFORM audit_append('release', 'claim', p_claim::text, (SELECT member_id FROM claim WHERE id = p_claim), false);
END
$$;

-- A supervisor moves an open claim to another adjudicator (or back to the
-- queue with p_to NULL).
CREATE OR REPLACE FUNCTION claim_reassign(p_claim uuid, p_to text, p_lease interval DEFAULT interval '15 minutes')
RETURNS void
LANGUAGE plpgsql SECURITY DEFINER SET search_path = claimdesk, pg_catalog AS $$
DECLARE v_old text;
BEGIN
    PERFORM require_role(ARRAY['claimdesk_supervisor']);
    IF p_to IS NOT NULL AND NOT EXISTS (
        SELECT FROM pg_roles r WHERE r.rolname = p_to AND r.rolcanlogin
          AND pg_has_role(r.oid, 'claimdesk_adjudicator', 'MEMBER')) THEN
        RAISE EXCEPTION '% is not an adjudicator', p_to USING ERRCODE = 'CD005';
    END IF;
    SELECT CASE WHEN lease_expires_at > now() THEN lease_holder END INTO v_old
    FROM queue_entry WHERE claim_id = p_claim FOR UPDATE;
    IF NOT FOUND THEN
        IF EXISTS (SELECT FROM claim WHERE id = p_claim) THEN
            RAISE EXCEPTION 'only an open claim can be reassigned' USING ERRCODE = 'CD003';
        END IF;
        RAISE EXCEPTION 'no such claim' USING ERRCODE = 'CD006';
    END IF;
    UPDATE queue_entry SET lease_holder = p_to,
                           lease_expires_at = CASE WHEN p_to IS NOT NULL THEN now() + p_lease END,
                           leased_at = CASE WHEN p_to IS NOT NULL THEN now() END
    WHERE claim_id = p_claim;
    PERFORM audit_append('reassign', 'claim', p_claim::text, (SELECT member_id FROM claim WHERE id = p_claim), false,
                         jsonb_build_object('lease_holder', v_old), jsonb_build_object('lease_holder', p_to));
END
$$;

-- Unchanged from 0007 except that the decision ends the lease in the queue
-- entry (the claim row no longer holds it).
CREATE OR REPLACE FUNCTION claim_decide(
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
        version = version + 1
    WHERE id = p_claim;
    -- A decision ends the lease; a pended claim stays in the queue, unheld.
    UPDATE queue_entry SET lease_holder = NULL, lease_expires_at = NULL, leased_at = NULL
    WHERE claim_id = p_claim;

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

SELECT assign_ownership();
REVOKE EXECUTE ON FUNCTION queue_follow_claim(), queue_rebuild(), lease_for_holder(uuid) FROM PUBLIC;
GRANT SELECT ON queue_entry TO claimdesk_adjudicator;
