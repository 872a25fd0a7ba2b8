-- Claims arrive as X12 837 files (issue 20).
--
-- * A file is an intake_batch; each interchange in it (ISA..IEA) is an
--   intake_interchange, once per sender and control number (ISA05/06 +
--   ISA13): the same interchange sent again creates nothing and is answered
--   with TA1 025, as X12 says for a duplicate control number.
-- * Each transaction set (ST..SE) is written in one transaction with its
--   claims, lines, diagnoses and its part of the 999 and 277CA
--   (intake_set). A set rejected by the 999 writes only that row; a crash
--   between sets leaves the interchange 'receiving' and the next run of the
--   same file resumes after the last set written.
-- * The seeds keep one provider per claim. An 837 names a billing provider
--   (paid, 835) and often a rendering one (credentialed, priced): the claim
--   keeps both, provider_id staying the one that rendered the care, so the
--   engine and the desk are unchanged, and billing_provider_id the payee.
-- * Acknowledgements name patients (the 277CA's 2100D requires it), so they
--   live here with the claims, readable by supervisors only, and each view
--   from the app is audited as a PHI view.

SET LOCAL search_path = claimdesk, public, pg_catalog;

CREATE TABLE intake_batch (
    id uuid PRIMARY KEY,
    file_name text NOT NULL,
    file_sha256 bytea NOT NULL CHECK (length(file_sha256) = 32),
    file_bytes bigint NOT NULL CHECK (file_bytes >= 0),
    received_at timestamptz NOT NULL,
    received_by text NOT NULL DEFAULT session_user,
    status text NOT NULL DEFAULT 'receiving'
        CHECK (status IN ('receiving', 'complete', 'rejected', 'duplicate')),
    -- The file's own fault when it could not be read to its end (not X12,
    -- truncated, a segment without terminator). No PHI: positions only.
    problem text,
    sets_received int NOT NULL DEFAULT 0,
    sets_accepted int NOT NULL DEFAULT 0,
    claims_accepted int NOT NULL DEFAULT 0,
    claims_rejected int NOT NULL DEFAULT 0,
    amount_accepted numeric(14,2) NOT NULL DEFAULT 0,
    -- What has been read so far, for the progress bar.
    bytes_read bigint NOT NULL DEFAULT 0,
    completed_at timestamptz,
    created_at timestamptz NOT NULL DEFAULT now(),
    updated_at timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX intake_batch_received_idx ON intake_batch (received_at DESC);
CREATE INDEX intake_batch_file_idx ON intake_batch (file_sha256);

CREATE TABLE intake_interchange (
    id uuid PRIMARY KEY,
    batch_id uuid NOT NULL REFERENCES intake_batch ON DELETE CASCADE,
    -- Position in the file (a file may carry several ISAs).
    ordinal int NOT NULL CHECK (ordinal >= 1),
    sender_qualifier text NOT NULL,
    sender_id text NOT NULL,
    control_number text NOT NULL,
    usage text NOT NULL,
    status text NOT NULL DEFAULT 'receiving' CHECK (status IN ('receiving', 'complete', 'rejected')),
    -- TA1 note code when the interchange was rejected whole.
    ta1_code text,
    created_at timestamptz NOT NULL DEFAULT now(),
    updated_at timestamptz NOT NULL DEFAULT now(),
    UNIQUE (batch_id, ordinal)
);
CREATE UNIQUE INDEX intake_interchange_once ON intake_interchange (sender_qualifier, sender_id, control_number);

CREATE TABLE intake_set (
    id uuid PRIMARY KEY,
    interchange_id uuid NOT NULL REFERENCES intake_interchange ON DELETE CASCADE,
    -- Group and set positions in the interchange: the resume key.
    group_ordinal int NOT NULL,
    set_ordinal int NOT NULL,
    group_control text NOT NULL,
    functional_id text NOT NULL,
    group_version text NOT NULL,
    set_control text NOT NULL,
    claim_type text CHECK (claim_type IN ('professional', 'institutional')),
    accepted boolean NOT NULL,
    -- This set's AK2..IK5 loop of the 999, and its ST..SE of the 277CA.
    ack_999 text NOT NULL,
    ack_277 text,
    claims_accepted int NOT NULL DEFAULT 0,
    claims_rejected int NOT NULL DEFAULT 0,
    amount_accepted numeric(14,2) NOT NULL DEFAULT 0,
    created_at timestamptz NOT NULL DEFAULT now(),
    updated_at timestamptz NOT NULL DEFAULT now(),
    UNIQUE (interchange_id, group_ordinal, set_ordinal)
);

-- Every claim of an accepted set, taken or rejected, for the batch view.
CREATE TABLE intake_claim (
    id uuid PRIMARY KEY,
    set_id uuid NOT NULL REFERENCES intake_set ON DELETE CASCADE,
    ordinal int NOT NULL,
    patient_account text NOT NULL,
    charge numeric(12,2) NOT NULL,
    frequency_code text NOT NULL,
    claim_id uuid REFERENCES claim,
    -- 277CA STC01: category (A2 accepted, A3/A7 rejected), code, entity.
    status_category text NOT NULL,
    status_code text NOT NULL,
    entity text,
    reason text,
    explanation text,
    created_at timestamptz NOT NULL DEFAULT now(),
    updated_at timestamptz NOT NULL DEFAULT now(),
    UNIQUE (set_id, ordinal),
    CHECK ((status_category = 'A2') = (claim_id IS NOT NULL))
);

-- The answers, as sent.
CREATE TABLE intake_ack (
    id uuid PRIMARY KEY,
    batch_id uuid NOT NULL REFERENCES intake_batch ON DELETE CASCADE,
    interchange_id uuid REFERENCES intake_interchange ON DELETE CASCADE,
    kind text NOT NULL CHECK (kind IN ('TA1', '999', '277CA')),
    control_number int NOT NULL,
    body text NOT NULL,
    created_at timestamptz NOT NULL DEFAULT now(),
    updated_at timestamptz NOT NULL DEFAULT now(),
    UNIQUE (interchange_id, kind)
);
CREATE INDEX intake_ack_batch_idx ON intake_ack (batch_id);
-- Our outbound ISA13s.
CREATE SEQUENCE intake_ack_control_seq MINVALUE 1 MAXVALUE 999999999 CYCLE;

ALTER TABLE claim
    ADD COLUMN billing_provider_id uuid REFERENCES provider,
    ADD COLUMN intake_set_id uuid REFERENCES intake_set,
    -- CLM05-1 on institutional claims (type of bill without frequency).
    ADD COLUMN facility_type_code text CHECK (facility_type_code ~ '^[0-9]{2}$'),
    ADD COLUMN admission_date date,
    -- PWK: paperwork the provider says is coming (report type, how, control).
    ADD COLUMN attachments_expected jsonb NOT NULL DEFAULT '[]'
        CHECK (jsonb_typeof(attachments_expected) = 'array'),
    ADD COLUMN replaced_by_claim_id uuid REFERENCES claim;
-- A provider's own claim reference, for duplicate checks at intake.
CREATE INDEX claim_patient_account_idx ON claim (billing_provider_id, patient_account_number)
    WHERE billing_provider_id IS NOT NULL;
-- Institutional claims carry up to 999 lines (005010X223A2 2400 loop).
ALTER TABLE claim_line DROP CONSTRAINT claim_line_line_number_check,
    ADD CONSTRAINT claim_line_line_number_check CHECK (line_number BETWEEN 1 AND 999),
    ADD COLUMN revenue_code text CHECK (revenue_code ~ '^[0-9]{4}$');

-- A replacement (7) or void (8) arriving for `p_original`. An open original
-- is voided; a decided one gives back what it booked (accumulators and
-- benefit usage) before it is voided, so the replacement books afresh;
-- paid originals are reversed by the payment cycle's adjustment, so here
-- they are only linked. Returns what became of the original.
CREATE FUNCTION intake_supersede(p_original uuid, p_new uuid, p_frequency text, p_reason text) RETURNS text
LANGUAGE plpgsql SET search_path = claimdesk, pg_catalog AS $$
DECLARE
    o claim;
    v_outcome text;
BEGIN
    SELECT * INTO o FROM claim WHERE id = p_original FOR UPDATE;
    IF o.status = 'paid' THEN
        v_outcome := 'linked_paid';
    ELSE
        IF o.status IN ('approved', 'partially_approved', 'denied') THEN
            PERFORM claim_unbook(o.id, p_reason);
            v_outcome := 'reopened';
        ELSE
            v_outcome := 'voided';
        END IF;
        PERFORM set_config('claimdesk.status_reason', p_reason, true);
        UPDATE claim SET status = 'void', pend_reason = NULL, pend_until = NULL, version = version + 1
        WHERE id = o.id;
        PERFORM set_config('claimdesk.status_reason', '', true);
    END IF;
    UPDATE claim SET replaced_by_claim_id = p_new WHERE id = o.id;
    RETURN v_outcome;
END
$$;
REVOKE EXECUTE ON FUNCTION intake_supersede(uuid, uuid, text, text) FROM PUBLIC;


-- Intake writes thousands of rows a set. A row-by-row audit event each
-- (full row, hash chained under its lane's lock) measured 0.8 ms a row, 30
-- times intake's goal; instead intake records one event per set naming
-- every claim it wrote (the rows themselves stay on central, and the file
-- in done/). The per-row insert events are skipped only while the
-- transaction has set claimdesk.intake_set and only for an admin (or
-- superuser) session, in the triggers' WHEN so no function is called per
-- row: the database owner can disable triggers outright, so nobody gains a
-- way around the audit, and staff sessions are never exempt.
DROP TRIGGER audit_row_change ON claim_line;
CREATE TRIGGER audit_row_change AFTER UPDATE OR DELETE ON claim_line
    FOR EACH ROW EXECUTE FUNCTION audit_row_change();
CREATE TRIGGER audit_row_insert AFTER INSERT ON claim_line FOR EACH ROW
    WHEN (coalesce(current_setting('claimdesk.intake_set', true), '') = ''
          OR NOT pg_has_role(session_user, 'claimdesk_admin', 'MEMBER'))
    EXECUTE FUNCTION audit_row_change();
DROP TRIGGER audit_row_change ON claim_diagnosis;
CREATE TRIGGER audit_row_change AFTER UPDATE OR DELETE ON claim_diagnosis
    FOR EACH ROW EXECUTE FUNCTION audit_row_change();
CREATE TRIGGER audit_row_insert AFTER INSERT ON claim_diagnosis FOR EACH ROW
    WHEN (coalesce(current_setting('claimdesk.intake_set', true), '') = ''
          OR NOT pg_has_role(session_user, 'claimdesk_admin', 'MEMBER'))
    EXECUTE FUNCTION audit_row_change();

-- The claim's change triggers compare every column: rebuilt for the
-- columns added here and in 0020 (whose own additions it did not rebuild
-- for), with the insert audit split out as above.
CREATE OR REPLACE FUNCTION refresh_claim_change_triggers() RETURNS void
LANGUAGE plpgsql SET search_path = claimdesk, pg_catalog AS $$
DECLARE
    cols text;
    cond text;
BEGIN
    SELECT string_agg(quote_ident(column_name), ', ' ORDER BY ordinal_position) INTO cols
    FROM information_schema.columns
    WHERE table_schema = 'claimdesk' AND table_name = 'claim'
      AND column_name NOT IN ('lease_holder', 'lease_expires_at', 'updated_at', 'change_xid');
    cond := format('(%s) IS DISTINCT FROM (%s)',
                   regexp_replace(cols, '([^, ]+)', 'OLD.\1', 'g'),
                   regexp_replace(cols, '([^, ]+)', 'NEW.\1', 'g'));
    DROP TRIGGER IF EXISTS audit_row_change ON claim;
    DROP TRIGGER IF EXISTS audit_row_change_write ON claim;
    DROP TRIGGER IF EXISTS audit_row_insert ON claim;
    DROP TRIGGER IF EXISTS audit_row_delete ON claim;
    DROP TRIGGER IF EXISTS notify_change ON claim;
    DROP TRIGGER IF EXISTS notify_change_write ON claim;
    DROP TRIGGER IF EXISTS notify_change_update ON claim;
    CREATE TRIGGER audit_row_delete AFTER DELETE ON claim
        FOR EACH ROW EXECUTE FUNCTION audit_row_change();
    CREATE TRIGGER audit_row_insert AFTER INSERT ON claim FOR EACH ROW
        WHEN (coalesce(current_setting('claimdesk.intake_set', true), '') = ''
              OR NOT pg_has_role(session_user, 'claimdesk_admin', 'MEMBER'))
        EXECUTE FUNCTION audit_row_change();
    EXECUTE format('CREATE TRIGGER audit_row_change AFTER UPDATE ON claimdesk.claim FOR EACH ROW
                    WHEN (%s) EXECUTE FUNCTION claimdesk.audit_row_change()', cond);
    CREATE TRIGGER notify_change_write AFTER INSERT OR DELETE ON claim
        FOR EACH STATEMENT EXECUTE FUNCTION notify_change();
    EXECUTE format('CREATE TRIGGER notify_change_update AFTER UPDATE ON claimdesk.claim FOR EACH ROW
                    WHEN (%s) EXECUTE FUNCTION claimdesk.notify_change()', cond);
END
$$;
SELECT refresh_claim_change_triggers();

-- A set's claims arrive in one INSERT: their first status history row and
-- their queue rows are written per statement from the inserted rows (a
-- transition table) rather than by a PL/pgSQL call per row. Updates keep
-- their row triggers (they need OLD).
CREATE FUNCTION record_claims_received() RETURNS trigger
LANGUAGE plpgsql SET search_path = claimdesk, pg_catalog AS $$
BEGIN
    INSERT INTO claim_status_history (id, claim_id, from_status, to_status, reason, prior_rank, priority_rank,
                                      claim_received_at)
    SELECT gen_random_uuid(), n.id, NULL, n.status, nullif(current_setting('claimdesk.status_reason', true), ''),
           NULL, n.priority_rank, n.received_at
    FROM inserted n;
    RETURN NULL;
END
$$;
DROP TRIGGER claim_status_history_trg ON claim;
CREATE TRIGGER claim_status_history_trg AFTER UPDATE OF status, priority ON claim
    FOR EACH ROW EXECUTE FUNCTION record_claim_status();
CREATE TRIGGER claim_status_history_ins AFTER INSERT ON claim REFERENCING NEW TABLE AS inserted
    FOR EACH STATEMENT EXECUTE FUNCTION record_claims_received();

CREATE FUNCTION queue_follow_claims_inserted() RETURNS trigger
LANGUAGE plpgsql SECURITY DEFINER SET search_path = claimdesk, pg_catalog AS $$
BEGIN
    INSERT INTO queue_entry AS q (claim_id, priority_rank, prompt_pay_due, received_at, pended, restricted,
                                  total_billed)
    SELECT n.id, n.priority_rank, n.prompt_pay_due, n.received_at, n.status = 'pended', n.restricted, n.total_billed
    FROM inserted n WHERE n.status IN ('received', 'in_review', 'appealed', 'pended')
    ON CONFLICT (claim_id) DO UPDATE SET
        priority_rank = EXCLUDED.priority_rank,
        prompt_pay_due = EXCLUDED.prompt_pay_due,
        received_at = EXCLUDED.received_at,
        pended = EXCLUDED.pended,
        restricted = EXCLUDED.restricted,
        total_billed = EXCLUDED.total_billed;
    RETURN NULL;
END
$$;
DROP TRIGGER queue_follow_claim ON claim;
CREATE TRIGGER queue_follow_claim
    AFTER UPDATE OF status, priority, prompt_pay_due, received_at, restricted, total_billed
    ON claim FOR EACH ROW EXECUTE FUNCTION queue_follow_claim();
CREATE TRIGGER queue_follow_claims_inserted AFTER INSERT ON claim REFERENCING NEW TABLE AS inserted
    FOR EACH STATEMENT EXECUTE FUNCTION queue_follow_claims_inserted();
REVOKE EXECUTE ON FUNCTION record_claims_received(), queue_follow_claims_inserted() FROM PUBLIC;

GRANT SELECT ON intake_batch, intake_interchange, intake_set, intake_claim, intake_ack TO claimdesk_supervisor;

DO $$
BEGIN
    EXECUTE 'CREATE TRIGGER touch_updated_at BEFORE UPDATE ON claimdesk.intake_batch FOR EACH ROW EXECUTE FUNCTION claimdesk.touch_updated_at()';
    EXECUTE 'CREATE TRIGGER touch_updated_at BEFORE UPDATE ON claimdesk.intake_interchange FOR EACH ROW EXECUTE FUNCTION claimdesk.touch_updated_at()';
END
$$;
