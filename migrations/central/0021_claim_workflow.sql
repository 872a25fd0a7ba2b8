-- Claims that do not get stuck (issue 19).
--
-- * Taking a claim opened from the list: the desktop opens claims read-only
--   and leases one only when the person takes it (claim_take), so a
--   decision panel is active only on a claim the person holds.
-- * Pended claims come back by themselves: when their pend ends, when the
--   information a pend waits for arrives (an attachment, or a note, on a
--   claim pended for information), or when a supervisor lifts the pend.
-- * Priority rises with the prompt-pay date without a person: the same
--   housekeeping raises every open claim to the priority its due date
--   demands (overdue: urgent; due within five days: high, as the intake
--   rules in core::priority say).
-- claim_housekeeping() does the time-driven part. Central runs it every
-- minute through pg_cron where the extension is installed (claimdesk-admin
-- migrate schedules it; the demo and test clusters load it), and
-- `claimdesk-admin housekeeping --watch` runs it where pg_cron cannot be.

SET LOCAL search_path = claimdesk, public, pg_catalog;

-- Returns a pended claim to the queue, saying why in its status history.
CREATE FUNCTION claim_unpend(p_claim uuid, p_reason text) RETURNS boolean
LANGUAGE plpgsql SET search_path = claimdesk, pg_catalog AS $$
BEGIN
    PERFORM set_config('claimdesk.status_reason', p_reason, true);
    UPDATE claim SET status = 'in_review', pend_reason = NULL, pend_until = NULL, awaiting_information = false,
                     version = version + 1
    WHERE id = p_claim AND status = 'pended';
    PERFORM set_config('claimdesk.status_reason', '', true);
    RETURN FOUND;
END
$$;

-- Whether a pended claim waits for information from outside.
CREATE FUNCTION claim_awaits_information(p_claim uuid) RETURNS boolean
LANGUAGE sql STABLE SET search_path = claimdesk, pg_catalog AS $$
    SELECT c.status = 'pended' AND (c.awaiting_information OR coalesce(r.awaits_information, false))
    FROM claim c LEFT JOIN pend_reason r ON r.code = c.pend_reason
    WHERE c.id = p_claim
$$;

-- The information arrived: an attachment, or a note, on a claim pended for it.
CREATE FUNCTION claim_information_arrived() RETURNS trigger
LANGUAGE plpgsql SECURITY DEFINER SET search_path = claimdesk, pg_catalog AS $$
BEGIN
    IF NEW.claim_id IS NOT NULL AND claim_awaits_information(NEW.claim_id) THEN
        PERFORM claim_unpend(NEW.claim_id,
            -- One function for both tables: read the file name by key.
            CASE TG_TABLE_NAME WHEN 'document' THEN 'Information arrived: ' || (to_jsonb(NEW) ->> 'file_name')
                               ELSE 'Information arrived: a note' END);
    END IF;
    RETURN NULL;
END
$$;
CREATE TRIGGER claim_information_arrived AFTER INSERT ON document
    FOR EACH ROW EXECUTE FUNCTION claim_information_arrived();
CREATE TRIGGER claim_information_arrived AFTER INSERT ON claim_note
    FOR EACH ROW EXECUTE FUNCTION claim_information_arrived();

-- A supervisor lifts a pend: the claim returns to the queue with their note.
CREATE FUNCTION claim_lift_pend(p_claim uuid, p_note text) RETURNS int
LANGUAGE plpgsql SECURITY DEFINER SET search_path = claimdesk, pg_catalog AS $$
DECLARE c claim;
BEGIN
    PERFORM require_role(ARRAY['claimdesk_supervisor']);
    IF length(btrim(coalesce(p_note, ''))) = 0 THEN
        RAISE EXCEPTION 'say why the pend is lifted' USING ERRCODE = 'CD005';
    END IF;
    SELECT * INTO c FROM claim WHERE id = p_claim FOR UPDATE;
    IF NOT FOUND THEN
        RAISE EXCEPTION 'no such claim' USING ERRCODE = 'CD006';
    END IF;
    IF c.status <> 'pended' THEN
        RAISE EXCEPTION 'the claim is not pended' USING ERRCODE = 'CD003';
    END IF;
    PERFORM claim_unpend(p_claim, 'Pend lifted by a supervisor: ' || btrim(p_note));
    -- The note is the supervisor's word, not the information arriving: the
    -- claim is no longer pended when it is written.
    INSERT INTO claim_note (id, claim_id, author, body)
    VALUES (gen_random_uuid(), p_claim, session_user, 'Pend lifted: ' || btrim(p_note));
    RETURN c.version + 1;
END
$$;

-- Takes a claim the person opened from the list: leases it if nobody holds
-- it (or the lease ran out), renews it if the caller holds it already, and
-- refuses (CD015) while someone else does.
CREATE FUNCTION claim_take(p_claim uuid, p_lease interval DEFAULT interval '15 minutes')
RETURNS TABLE (claim_id uuid, version int, lease_expires_at timestamptz)
LANGUAGE plpgsql SECURITY DEFINER SET search_path = claimdesk, pg_catalog AS $$
#variable_conflict use_column
DECLARE
    q queue_entry;
    v_until timestamptz;
    v_member uuid;
BEGIN
    PERFORM require_role(ARRAY['claimdesk_adjudicator']);
    IF p_lease < interval '1 minute' OR p_lease > interval '2 hours' THEN
        RAISE EXCEPTION 'lease must be between 1 minute and 2 hours' USING ERRCODE = 'CD005';
    END IF;
    -- Claim before queue entry, the order every function takes them in.
    SELECT c.member_id INTO v_member FROM claim c
    WHERE c.id = p_claim AND (NOT c.restricted OR pg_has_role(session_user, 'claimdesk_supervisor', 'MEMBER'))
    FOR UPDATE;
    IF NOT FOUND THEN
        RAISE EXCEPTION 'no such claim' USING ERRCODE = 'CD006';
    END IF;
    SELECT * INTO q FROM queue_entry e WHERE e.claim_id = p_claim FOR UPDATE;
    IF NOT FOUND THEN
        RAISE EXCEPTION 'only an open claim can be taken' USING ERRCODE = 'CD003';
    END IF;
    IF q.lease_holder IS NOT NULL AND q.lease_expires_at > now() AND q.lease_holder <> session_user::text THEN
        RAISE EXCEPTION '% holds this claim until %', q.lease_holder, to_char(q.lease_expires_at, 'HH24:MI TZ')
            USING ERRCODE = 'CD015';
    END IF;
    UPDATE queue_entry e SET lease_holder = session_user, lease_expires_at = now() + p_lease,
        leased_at = CASE WHEN q.lease_holder = session_user::text AND q.lease_expires_at > now() THEN q.leased_at ELSE now() END
    WHERE e.claim_id = p_claim
    RETURNING e.lease_expires_at INTO v_until;
    IF q.lease_holder IS DISTINCT FROM session_user::text OR q.lease_expires_at <= now() THEN
        PERFORM audit_append('take', 'claim', p_claim::text, v_member, false);
    END IF;
    RETURN QUERY SELECT c.id, c.version, v_until FROM claim c WHERE c.id = p_claim;
END
$$;

-- The rank a due date demands on p_today: 1 (urgent) once overdue, 2 (high)
-- within five days, else none (4). core::priority's rules say the same
-- (prompt_pay_overdue, prompt_pay_due_soon with due_soon_days = 5); a core
-- test holds the two together.
CREATE FUNCTION due_date_rank(p_due date, p_today date) RETURNS smallint
LANGUAGE sql IMMUTABLE AS $$
    SELECT CASE WHEN p_due < p_today THEN 1 WHEN p_due <= p_today + 5 THEN 2 ELSE 4 END::smallint
$$;

-- The time-driven part of the queue, in batches of p_batch so no lock is
-- held long and concurrent runs (cron and a manual run) skip each other's
-- rows: ended pends return to the queue, and open claims rise to the
-- priority their due date demands (never lowered: the intake rules may
-- have put a claim higher). Returns what it did.
CREATE FUNCTION claim_housekeeping(p_today date DEFAULT current_date, p_batch int DEFAULT 1000)
RETURNS jsonb
LANGUAGE plpgsql SECURITY DEFINER SET search_path = claimdesk, pg_catalog AS $$
DECLARE
    v_returned int := 0;
    v_raised int := 0;
    v_id uuid;
    n int;
BEGIN
    PERFORM require_role(ARRAY['claimdesk_supervisor', 'claimdesk_admin']);
    FOR v_id IN
        SELECT c.id FROM claim c JOIN queue_entry q ON q.claim_id = c.id
        WHERE q.pended AND c.status = 'pended' AND c.pend_until <= p_today
        ORDER BY c.pend_until
        LIMIT p_batch
        FOR UPDATE OF c SKIP LOCKED
    LOOP
        IF claim_unpend(v_id, 'Pend ended') THEN
            v_returned := v_returned + 1;
        END IF;
    END LOOP;

    WITH due AS (
        SELECT c.id, due_date_rank(c.prompt_pay_due, p_today) AS rank, c.prompt_pay_due
        FROM queue_entry q JOIN claim c ON c.id = q.claim_id
        WHERE q.prompt_pay_due <= p_today + 5
          AND q.priority_rank > due_date_rank(q.prompt_pay_due, p_today)
        ORDER BY q.prompt_pay_due
        LIMIT p_batch
        FOR UPDATE OF c SKIP LOCKED
    )
    UPDATE claim c SET
        priority = CASE due.rank WHEN 1 THEN 'urgent' ELSE 'high' END,
        priority_reasons = c.priority_reasons || jsonb_build_array(jsonb_build_object(
            'rule', CASE due.rank WHEN 1 THEN 'prompt_pay_overdue' ELSE 'prompt_pay_due_soon' END,
            'detail', CASE due.rank
                WHEN 1 THEN format('due %s (%s days ago)', due.prompt_pay_due, p_today - due.prompt_pay_due)
                ELSE format('due %s (in %s days)', due.prompt_pay_due, due.prompt_pay_due - p_today) END)),
        priority_confidence = greatest(coalesce(c.priority_confidence, 0), CASE due.rank WHEN 1 THEN 0.95 ELSE 0.90 END)
    FROM due WHERE c.id = due.id;
    GET DIAGNOSTICS n = ROW_COUNT;
    v_raised := n;
    RETURN jsonb_build_object('pends_returned', v_returned, 'priorities_raised', v_raised);
END
$$;

-- Pended claims by the day their pend ends, for the housekeeping's scan.
CREATE INDEX claim_pend_until_idx ON claim (pend_until) WHERE status = 'pended';

SELECT assign_ownership();
REVOKE EXECUTE ON FUNCTION claim_unpend(uuid, text), claim_awaits_information(uuid),
    claim_lift_pend(uuid, text), claim_take(uuid, interval), claim_housekeeping(date, int) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION claim_take(uuid, interval) TO claimdesk_adjudicator;
GRANT EXECUTE ON FUNCTION claim_lift_pend(uuid, text), claim_housekeeping(date, int) TO claimdesk_supervisor;
GRANT EXECUTE ON FUNCTION claim_housekeeping(date, int) TO claimdesk_admin;
