-- The append-only, hash-chained audit log, and the change feed sync reads.

-- public stays on the path: sqlx records the migration in public._sqlx_migrations
-- inside this same transaction.
SET LOCAL search_path = claimdesk, public, pg_catalog;

-- ---------------------------------------------------------------------------
-- Audit log
-- ---------------------------------------------------------------------------

-- Each row's hash covers its content and the previous row's hash, so an
-- edit, a deletion or a reordering breaks the chain at that row.
-- `seq` is contiguous (taken under the chain-head lock), which also makes a
-- deleted row visible as a gap. Who is always the session's login role,
-- never a name the client supplies.
CREATE TABLE audit_log (
    seq bigint PRIMARY KEY CHECK (seq >= 1),
    occurred_at timestamptz NOT NULL,
    db_user text NOT NULL,
    db_role text NOT NULL,
    action text NOT NULL,
    resource_type text NOT NULL,
    resource_id text,
    -- Whose PHI the event concerns: the per-member access report reads this.
    member_id uuid,
    phi_accessed boolean NOT NULL,
    old_values jsonb,
    new_values jsonb,
    -- application_name, client address, and what the client says of itself.
    client_info jsonb NOT NULL,
    prev_hash bytea NOT NULL CHECK (length(prev_hash) = 32),
    row_hash bytea NOT NULL CHECK (length(row_hash) = 32)
);
CREATE INDEX audit_log_time_idx ON audit_log (occurred_at, seq);
CREATE INDEX audit_log_user_idx ON audit_log (db_user, seq);
CREATE INDEX audit_log_member_idx ON audit_log (member_id, seq) WHERE member_id IS NOT NULL;
CREATE INDEX audit_log_resource_idx ON audit_log (resource_type, resource_id, seq);

-- The end of the chain. Appends lock this row, which serialises them; the
-- lock is held only by the short SECURITY DEFINER functions and triggers.
CREATE TABLE audit_chain_head (
    singleton boolean PRIMARY KEY DEFAULT true CHECK (singleton),
    last_seq bigint NOT NULL,
    last_hash bytea NOT NULL CHECK (length(last_hash) = 32)
);
-- The genesis hash is 32 zero bytes.
INSERT INTO audit_chain_head VALUES (true, 0, decode(repeat('00', 32), 'hex'));

-- The canonical content of a row, as hashed. Frozen: claimdesk-admin's
-- verifier computes the same bytes independently (core::audit).
-- Fields are joined with the unit separator; NULL is written as \N.
CREATE FUNCTION audit_row_hash(
    prev_hash bytea, seq bigint, occurred_at timestamptz, db_user text, db_role text,
    action text, resource_type text, resource_id text, member_id uuid, phi_accessed boolean,
    old_values jsonb, new_values jsonb, client_info jsonb
) RETURNS bytea
LANGUAGE sql IMMUTABLE PARALLEL SAFE AS $$
    SELECT sha256(prev_hash || convert_to(array_to_string(ARRAY[
        seq::text,
        to_char(occurred_at AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.US"Z"'),
        db_user, db_role, action, resource_type,
        coalesce(resource_id, '\N'),
        coalesce(member_id::text, '\N'),
        phi_accessed::text,
        coalesce(old_values::text, '\N'),
        coalesce(new_values::text, '\N'),
        client_info::text
    ], chr(31)), 'UTF8'))
$$;

-- The staff role a login acts in, most privileged first.
CREATE FUNCTION staff_role(login name DEFAULT session_user) RETURNS text
LANGUAGE sql STABLE SET search_path = claimdesk, pg_catalog AS $$
    SELECT coalesce(
        (SELECT r.rolname::text
         FROM unnest(ARRAY['claimdesk_admin', 'claimdesk_supervisor',
                           'claimdesk_credentialing', 'claimdesk_adjudicator']) WITH ORDINALITY AS o(name, rank)
         JOIN pg_roles r ON r.rolname = o.name
         WHERE pg_has_role(login, r.oid, 'MEMBER')
         ORDER BY o.rank
         LIMIT 1),
        'none')
$$;

-- Appends one event. The only way rows enter the audit log.
CREATE FUNCTION audit_append(
    p_action text, p_resource_type text, p_resource_id text, p_member_id uuid,
    p_phi_accessed boolean, p_old jsonb DEFAULT NULL, p_new jsonb DEFAULT NULL
) RETURNS bigint
LANGUAGE plpgsql SECURITY DEFINER SET search_path = claimdesk, pg_catalog AS $$
DECLARE
    head audit_chain_head%ROWTYPE;
    v_seq bigint;
    v_at timestamptz := clock_timestamp();
    v_user text := session_user;
    v_role text := staff_role();
    v_client jsonb := jsonb_build_object(
        'application_name', current_setting('application_name'),
        'client_addr', host(inet_client_addr()),
        'client', nullif(current_setting('claimdesk.client', true), ''));
    v_hash bytea;
BEGIN
    SELECT * INTO head FROM audit_chain_head FOR UPDATE;
    v_seq := head.last_seq + 1;
    v_hash := audit_row_hash(head.last_hash, v_seq, v_at, v_user, v_role, p_action, p_resource_type,
                             p_resource_id, p_member_id, p_phi_accessed, p_old, p_new, v_client);
    INSERT INTO audit_log VALUES (v_seq, v_at, v_user, v_role, p_action, p_resource_type, p_resource_id,
                                  p_member_id, p_phi_accessed, p_old, p_new, v_client, head.last_hash, v_hash);
    UPDATE audit_chain_head SET last_seq = v_seq, last_hash = v_hash;
    RETURN v_seq;
END
$$;

-- Append-only: nobody edits or deletes audit rows through normal paths.
-- (The owner can still disable this trigger; the hash chain is what makes
-- such tampering visible to `claimdesk-admin audit verify`.)
CREATE FUNCTION audit_log_immutable() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
    RAISE EXCEPTION 'the audit log is append-only' USING ERRCODE = 'insufficient_privilege';
END
$$;
CREATE TRIGGER audit_log_immutable BEFORE UPDATE OR DELETE ON audit_log
    FOR EACH ROW EXECUTE FUNCTION audit_log_immutable();
CREATE TRIGGER audit_log_no_truncate BEFORE TRUNCATE ON audit_log
    FOR EACH STATEMENT EXECUTE FUNCTION audit_log_immutable();

-- Columns that never enter the audit log: ciphertext (the log must never
-- hold an SSN in any form), bookkeeping that changes on every write, and
-- lease columns (heartbeats from a whole floor would flood the log; release
-- and reassign write their own events).
CREATE FUNCTION audit_redact(row_data jsonb) RETURNS jsonb
LANGUAGE sql IMMUTABLE AS $$
    SELECT row_data - ARRAY['ssn_ciphertext', 'tax_id_ciphertext', 'updated_at', 'change_xid',
                            'lease_holder', 'lease_expires_at']
$$;

-- Writes an audit event for every insert, update and delete on the tables
-- it is attached to. Updates keep only the columns that changed.
CREATE FUNCTION audit_row_change() RETURNS trigger
LANGUAGE plpgsql SECURITY DEFINER SET search_path = claimdesk, pg_catalog AS $$
DECLARE
    v_old jsonb := CASE WHEN TG_OP <> 'INSERT' THEN audit_redact(to_jsonb(OLD)) END;
    v_new jsonb := CASE WHEN TG_OP <> 'DELETE' THEN audit_redact(to_jsonb(NEW)) END;
    v_row jsonb := coalesce(v_new, v_old);
    v_member uuid;
    k text;
BEGIN
    IF TG_OP = 'UPDATE' THEN
        FOR k IN SELECT jsonb_object_keys(v_new) LOOP
            IF v_old -> k = v_new -> k THEN
                v_old := v_old - k;
                v_new := v_new - k;
            END IF;
        END LOOP;
        IF v_new = '{}'::jsonb THEN
            RETURN NULL;
        END IF;
    END IF;
    v_member := CASE
        WHEN TG_TABLE_NAME = 'member' THEN (v_row ->> 'id')::uuid
        WHEN v_row ? 'member_id' THEN (v_row ->> 'member_id')::uuid
    END;
    PERFORM audit_append(lower(TG_OP), TG_TABLE_NAME, v_row ->> 'id', v_member,
                         TG_TABLE_NAME IN ('member', 'claim', 'claim_note', 'claim_diagnosis', 'coverage_period',
                                           'document', 'appeal'),
                         v_old, v_new);
    RETURN NULL;
END
$$;

DO $$
DECLARE t text;
BEGIN
    FOREACH t IN ARRAY ARRAY['member', 'coverage_period', 'accumulator', 'policy', 'provider',
                             'provider_credential', 'credential_verification', 'contract', 'fee_schedule',
                             'claim', 'claim_line', 'claim_diagnosis', 'claim_note', 'appeal', 'document']
    LOOP
        EXECUTE format('CREATE TRIGGER audit_row_change AFTER INSERT OR UPDATE OR DELETE ON claimdesk.%I
                        FOR EACH ROW EXECUTE FUNCTION claimdesk.audit_row_change()', t);
    END LOOP;
END
$$;

-- ---------------------------------------------------------------------------
-- Change feed
-- ---------------------------------------------------------------------------
--
-- Each synced row records the transaction that last wrote it (change_xid).
-- A reader, in one REPEATABLE READ transaction, takes the watermark
-- pg_snapshot_xmin(pg_current_snapshot()) and reads rows with
--     (change_xid, id) > (cursor_xid, cursor_id) AND change_xid < watermark
-- ordered by (change_xid, id). Every transaction below the watermark has
-- finished, so nothing committed later can appear below the cursor. A
-- BIGSERIAL or updated_at cursor skips rows whose transaction took its
-- value early and committed late; the tests show both. A long-running
-- writer (anywhere on the cluster: transaction ids are cluster-wide) holds
-- the feed back until it ends; it never loses rows.

CREATE FUNCTION stamp_change_xid() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
    NEW.change_xid := pg_current_xact_id();
    RETURN NEW;
END
$$;

-- Deletes appear as tombstones in the same feed order.
CREATE TABLE change_tombstone (
    id uuid PRIMARY KEY,
    table_name text NOT NULL,
    row_id uuid NOT NULL,
    deleted_at timestamptz NOT NULL DEFAULT now(),
    change_xid xid8 NOT NULL DEFAULT pg_current_xact_id()
);
CREATE INDEX change_tombstone_feed_idx ON change_tombstone (table_name, change_xid, row_id);

CREATE FUNCTION record_tombstone() RETURNS trigger
LANGUAGE plpgsql SECURITY DEFINER SET search_path = claimdesk, pg_catalog AS $$
BEGIN
    INSERT INTO change_tombstone (id, table_name, row_id) VALUES (gen_random_uuid(), TG_TABLE_NAME, OLD.id);
    RETURN NULL;
END
$$;

-- NOTIFY wakes listeners early; correctness never depends on it.
CREATE FUNCTION notify_change() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
    PERFORM pg_notify('claimdesk_changes', TG_TABLE_NAME);
    RETURN NULL;
END
$$;

-- The tables sync mirrors, in one list (claimdesk::central::SYNCED_TABLES
-- must match; a test checks).
CREATE FUNCTION synced_tables() RETURNS text[]
LANGUAGE sql IMMUTABLE AS $$
    SELECT ARRAY['employer_group', 'plan', 'plan_benefit', 'member', 'policy', 'coverage_period',
                 'accumulator', 'provider', 'provider_credential', 'credential_verification', 'contract',
                 'fee_schedule', 'claim', 'claim_diagnosis', 'claim_line', 'claim_note',
                 'claim_status_history', 'appeal', 'document']
$$;

DO $$
DECLARE t text;
BEGIN
    FOREACH t IN ARRAY claimdesk.synced_tables() LOOP
        EXECUTE format('ALTER TABLE claimdesk.%I ADD COLUMN change_xid xid8 NOT NULL DEFAULT pg_current_xact_id()', t);
        EXECUTE format('CREATE INDEX %I ON claimdesk.%I (change_xid, id)', t || '_feed_idx', t);
        EXECUTE format('CREATE TRIGGER stamp_change_xid BEFORE UPDATE ON claimdesk.%I
                        FOR EACH ROW EXECUTE FUNCTION claimdesk.stamp_change_xid()', t);
        EXECUTE format('CREATE TRIGGER record_tombstone AFTER DELETE ON claimdesk.%I
                        FOR EACH ROW EXECUTE FUNCTION claimdesk.record_tombstone()', t);
        EXECUTE format('CREATE TRIGGER notify_change AFTER INSERT OR UPDATE OR DELETE ON claimdesk.%I
                        FOR EACH STATEMENT EXECUTE FUNCTION claimdesk.notify_change()', t);
    END LOOP;
END
$$;
