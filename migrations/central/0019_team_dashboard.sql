-- The supervisor's team dashboard.
--
-- The queue's past is read from the status history rather than from
-- periodic snapshots: every change is recorded by trigger with its time, so
-- the depth at any moment is today's queue less the changes since. No job
-- to run, no gaps when nobody had the app open, the same past for everyone.
--
-- For that the history must account for every move of a claim in the
-- queue, priority included: each row now carries the claim's priority
-- before and after, and a change of priority of an open claim (the daily
-- rescore raises claims nearing their due date) is a row of its own, with
-- the status unchanged. The row also carries when the claim was received,
-- for the time from receipt to decision (seed 004's processing hours).
-- Seeds 002 and 004 keep status history without priority; a payer's queue
-- reports need both, and the adjudicator's claim view gains the reason a
-- claim moved up.
--
-- Reading the history as a supervisor goes through its row policy, a
-- lookup of the claim per row (0006); over a month of a large payer's
-- changes that is most of the cost. The dashboard's figures are aggregates
-- without PHI, so they come from definer functions for supervisors that
-- read the tables directly, from one index each.

SET LOCAL search_path = claimdesk, public, pg_catalog;

ALTER TABLE claim_status_history
    ADD COLUMN prior_rank smallint,
    ADD COLUMN priority_rank smallint,
    ADD COLUMN claim_received_at timestamptz;

-- Rows from before: the claim's priority now is the best knowledge there
-- is. User triggers off, so the backfill is not a change the desktops sync.
ALTER TABLE claim_status_history DISABLE TRIGGER USER;
UPDATE claim_status_history h
SET priority_rank = c.priority_rank,
    prior_rank = CASE WHEN h.from_status IS NOT NULL THEN c.priority_rank END,
    claim_received_at = c.received_at
FROM claim c WHERE c.id = h.claim_id;
ALTER TABLE claim_status_history ENABLE TRIGGER USER;

CREATE OR REPLACE FUNCTION record_claim_status() RETURNS trigger
LANGUAGE plpgsql SET search_path = claimdesk, pg_catalog AS $$
DECLARE
    v_open boolean := NEW.status IN ('received', 'in_review', 'appealed', 'pended');
    v_reason text := nullif(current_setting('claimdesk.status_reason', true), '');
BEGIN
    IF TG_OP = 'INSERT' OR NEW.status IS DISTINCT FROM OLD.status
       OR (v_open AND NEW.priority_rank IS DISTINCT FROM OLD.priority_rank) THEN
        IF TG_OP = 'UPDATE' AND NEW.status = OLD.status THEN
            v_reason := coalesce(v_reason, format('Priority %s to %s', OLD.priority, NEW.priority));
        END IF;
        INSERT INTO claim_status_history (id, claim_id, from_status, to_status, reason,
                                          prior_rank, priority_rank, claim_received_at)
        VALUES (gen_random_uuid(), NEW.id, CASE WHEN TG_OP = 'UPDATE' THEN OLD.status END, NEW.status, v_reason,
                CASE WHEN TG_OP = 'UPDATE' THEN OLD.priority_rank END, NEW.priority_rank, NEW.received_at);
    END IF;
    RETURN NULL;
END
$$;
DROP TRIGGER claim_status_history_trg ON claim;
CREATE TRIGGER claim_status_history_trg AFTER INSERT OR UPDATE OF status, priority ON claim
    FOR EACH ROW EXECUTE FUNCTION record_claim_status();

-- History by time, carrying what the dashboard groups by: a window's rows
-- are read from the index alone.
CREATE INDEX claim_status_history_time_idx ON claim_status_history (changed_at)
    INCLUDE (from_status, to_status, prior_rank, priority_rank, changed_by, claim_received_at);

-- The queue carries the billed amount, for prompt-pay interest without a
-- join to the claims, and past- and near-due claims are read by due date.
-- A checkout rewrites its queue row outside HOT (the ready index's
-- predicate names the lease), so each index here is paid on every
-- checkout: measured within noise (BENCHMARKS.md, team dashboard), and it
-- halves the dashboard's read.
ALTER TABLE queue_entry ADD COLUMN total_billed numeric(12,2) NOT NULL DEFAULT 0;
UPDATE queue_entry q SET total_billed = c.total_billed FROM claim c WHERE c.id = q.claim_id;
CREATE INDEX queue_entry_due_idx ON queue_entry (prompt_pay_due, total_billed DESC);

CREATE OR REPLACE FUNCTION queue_follow_claim() RETURNS trigger
LANGUAGE plpgsql SECURITY DEFINER SET search_path = claimdesk, pg_catalog AS $$
BEGIN
    IF NEW.status NOT IN ('received', 'in_review', 'appealed', 'pended') THEN
        DELETE FROM queue_entry WHERE claim_id = NEW.id;
    ELSE
        INSERT INTO queue_entry AS q (claim_id, priority_rank, prompt_pay_due, received_at, pended, restricted,
                                      total_billed)
        VALUES (NEW.id, NEW.priority_rank, NEW.prompt_pay_due, NEW.received_at, NEW.status = 'pended',
                NEW.restricted, NEW.total_billed)
        ON CONFLICT (claim_id) DO UPDATE SET
            priority_rank = EXCLUDED.priority_rank,
            prompt_pay_due = EXCLUDED.prompt_pay_due,
            received_at = EXCLUDED.received_at,
            pended = EXCLUDED.pended,
            restricted = EXCLUDED.restricted,
            total_billed = EXCLUDED.total_billed
        WHERE (q.priority_rank, q.prompt_pay_due, q.received_at, q.pended, q.restricted, q.total_billed)
              IS DISTINCT FROM (EXCLUDED.priority_rank, EXCLUDED.prompt_pay_due, EXCLUDED.received_at,
                                EXCLUDED.pended, EXCLUDED.restricted, EXCLUDED.total_billed);
    END IF;
    RETURN NULL;
END
$$;
DROP TRIGGER queue_follow_claim ON claim;
CREATE TRIGGER queue_follow_claim
    AFTER INSERT OR UPDATE OF status, priority, prompt_pay_due, received_at, restricted, total_billed
    ON claim FOR EACH ROW EXECUTE FUNCTION queue_follow_claim();

CREATE OR REPLACE FUNCTION queue_rebuild() RETURNS bigint
LANGUAGE sql SET search_path = claimdesk, pg_catalog AS $$
    WITH open AS (
        INSERT INTO queue_entry (claim_id, priority_rank, prompt_pay_due, received_at, pended, restricted,
                                 total_billed)
        SELECT id, priority_rank, prompt_pay_due, received_at, status = 'pended', restricted, total_billed
        FROM claim
        WHERE status IN ('received', 'in_review', 'appealed', 'pended')
        ON CONFLICT (claim_id) DO NOTHING
        RETURNING 1
    )
    SELECT count(*) FROM open
$$;

-- Changes of the queue in steps of p_step back from p_now (step 0 ends at
-- p_now; changes stamped after it are step -1), grouped as the depth and
-- outcome series and each person's throughput need them, with the time
-- from receipt to decision summed. One pass over the window's index
-- entries; binned first, the arithmetic once per group.
CREATE FUNCTION team_queue_changes(p_now timestamptz, p_step interval, p_steps int)
RETURNS TABLE (step int, from_status text, to_status text, prior_rank smallint, priority_rank smallint,
               changed_by text, n int, seconds numeric)
LANGUAGE plpgsql STABLE SECURITY DEFINER SET search_path = claimdesk, pg_catalog AS $$
BEGIN
    PERFORM require_role(ARRAY['claimdesk_supervisor']);
    RETURN QUERY
    SELECT (round(extract(epoch FROM p_now - b.bin) / extract(epoch FROM p_step)))::int - 1,
           b.from_status, b.to_status, b.prior_rank, b.priority_rank, b.changed_by, b.n,
           extract(epoch FROM b.taken)
    FROM (SELECT date_bin(p_step, h.changed_at, p_now) AS bin, h.from_status, h.to_status,
                 h.prior_rank, h.priority_rank, h.changed_by, count(*)::int AS n,
                 sum(h.changed_at - h.claim_received_at)
                     FILTER (WHERE h.to_status IN ('approved', 'partially_approved', 'denied')) AS taken
          FROM claim_status_history h
          WHERE h.changed_at >= p_now - p_step * p_steps
          GROUP BY 1, 2, 3, 4, 5, 6) b;
END
$$;

-- The open claims now by priority, pended or not, and how many of the five
-- ascending p_bounds their receipt is at or after (the age bands). Plain
-- comparisons: an array looked into per row costs more than the scan.
CREATE FUNCTION team_open_claims(p_bounds timestamptz[])
RETURNS TABLE (priority_rank smallint, pended boolean, bound int, n int)
LANGUAGE plpgsql STABLE SECURITY DEFINER SET search_path = claimdesk, pg_catalog AS $$
DECLARE
    b1 timestamptz := p_bounds[1];
    b2 timestamptz := p_bounds[2];
    b3 timestamptz := p_bounds[3];
    b4 timestamptz := p_bounds[4];
    b5 timestamptz := p_bounds[5];
BEGIN
    PERFORM require_role(ARRAY['claimdesk_supervisor']);
    IF cardinality(p_bounds) <> 5 THEN
        RAISE EXCEPTION 'five age bounds expected' USING ERRCODE = '22023';
    END IF;
    RETURN QUERY
    SELECT q.priority_rank, q.pended,
           CASE WHEN q.received_at >= b5 THEN 5 WHEN q.received_at >= b4 THEN 4 WHEN q.received_at >= b3 THEN 3
                WHEN q.received_at >= b2 THEN 2 WHEN q.received_at >= b1 THEN 1 ELSE 0 END,
           count(*)::int
    FROM queue_entry q
    GROUP BY 1, 2, 3;
END
$$;

-- Open claims due by p_due_by, by due date and billed amount.
CREATE FUNCTION team_due_claims(p_due_by date)
RETURNS TABLE (prompt_pay_due date, total_billed numeric, n int)
LANGUAGE plpgsql STABLE SECURITY DEFINER SET search_path = claimdesk, pg_catalog AS $$
BEGIN
    PERFORM require_role(ARRAY['claimdesk_supervisor']);
    RETURN QUERY
    SELECT q.prompt_pay_due, q.total_billed, count(*)::int
    FROM queue_entry q WHERE q.prompt_pay_due <= p_due_by
    GROUP BY 1, 2;
END
$$;

REVOKE EXECUTE ON FUNCTION team_queue_changes(timestamptz, interval, int), team_open_claims(timestamptz[]), team_due_claims(date) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION team_queue_changes(timestamptz, interval, int), team_open_claims(timestamptz[]), team_due_claims(date) TO claimdesk_supervisor;
