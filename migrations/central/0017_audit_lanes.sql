-- Audit lanes: eight hash chains instead of one.
--
-- Why: every audited transaction locked the one chain head until it
-- committed, and a commit holds its locks until its WAL is flushed. So
-- audited transactions committed one at a time: measured here, about 1,400
-- appends/s from one writer and 1,000/s from 32 (the lock queue costs more
-- than it saves), against a goal of 2,000/s with 32 writers.
--
-- Now each connection appends to one of eight lanes (its backend pid mod 8),
-- each lane a complete chain with its own head. Eight commits can flush
-- together (PostgreSQL's group commit), and a connection's own events stay
-- in order in its lane. Tamper evidence is per lane and as strong as
-- before: `lane_seq` is contiguous within a lane (taken under the lane's
-- lock, so a rolled-back append leaves no hole), each row's hash covers the
-- previous row of its lane, and each head records its lane's end.
--
-- `seq` stays the global order the trail is read in (keyset pages, "after
-- row N"). It now comes from a sequence, taken under the lane lock, so it
-- rises within a lane; across lanes it may skip a number where a
-- transaction rolled back, which is not a break (lane_seq is what must be
-- contiguous).
--
-- Rows written before this migration keep lane and lane_seq NULL: they are
-- lane 0 with lane_seq = seq, hashed with the original formula, and lane 0
-- continues their chain. The hash of a new row also covers its lane, its
-- lane_seq and a version tag, so a row cannot be moved between lanes.

SET LOCAL search_path = claimdesk, public, pg_catalog;

ALTER TABLE audit_log ADD COLUMN lane smallint CHECK (lane BETWEEN 0 AND 7),
                      ADD COLUMN lane_seq bigint CHECK (lane_seq >= 1),
                      ADD CHECK ((lane IS NULL) = (lane_seq IS NULL));
-- The verifier walks each lane in order.
CREATE INDEX audit_log_lane_idx ON audit_log ((coalesce(lane, 0)), (coalesce(lane_seq, seq)));

ALTER TABLE audit_chain_head ADD COLUMN lane smallint NOT NULL DEFAULT 0 CHECK (lane BETWEEN 0 AND 7);
ALTER TABLE audit_chain_head DROP CONSTRAINT audit_chain_head_pkey;
ALTER TABLE audit_chain_head DROP COLUMN singleton;
ALTER TABLE audit_chain_head ADD PRIMARY KEY (lane);
ALTER TABLE audit_chain_head ALTER COLUMN lane DROP DEFAULT;
INSERT INTO audit_chain_head (lane, last_seq, last_hash)
SELECT l, 0, decode(repeat('00', 32), 'hex') FROM generate_series(1, 7) l;
COMMENT ON COLUMN audit_chain_head.last_seq IS 'the last lane_seq of this lane (lane 0: of the rows before 0017, their seq)';

CREATE SEQUENCE audit_seq;
SELECT setval('audit_seq', greatest(max(seq), 1), max(seq) IS NOT NULL) FROM audit_log;

-- A new row's canonical content, as hashed. Frozen: core::audit computes
-- the same bytes independently. As audit_row_hash, with a version tag, the
-- lane and the lane position in front. (concat_ws writes what
-- array_to_string did, with less work per append; the boolean is cast, as
-- concat_ws would write it as t/f.)
CREATE FUNCTION audit_row_hash_v2(
    prev_hash bytea, seq bigint, lane smallint, lane_seq bigint, occurred_at timestamptz, db_user text,
    db_role text, action text, resource_type text, resource_id text, member_id uuid, phi_accessed boolean,
    old_values jsonb, new_values jsonb, client_info jsonb
) RETURNS bytea
LANGUAGE sql IMMUTABLE PARALLEL SAFE AS $$
    SELECT sha256(prev_hash || convert_to(concat_ws(chr(31),
        'v2', seq, lane, lane_seq,
        to_char(occurred_at AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.US"Z"'),
        db_user, db_role, action, resource_type,
        coalesce(resource_id, '\N'),
        coalesce(member_id::text, '\N'),
        phi_accessed::text,
        coalesce(old_values::text, '\N'),
        coalesce(new_values::text, '\N'),
        client_info), 'UTF8'))
$$;

-- The same answer as before, without a join over pg_roles on every append
-- (a fifth of an append's time), and inlinable (only pg_catalog functions,
-- so no search_path of its own).
CREATE OR REPLACE FUNCTION staff_role(login name DEFAULT session_user) RETURNS text
LANGUAGE sql STABLE AS $$
    SELECT CASE WHEN pg_has_role(login, 'claimdesk_admin', 'MEMBER') THEN 'claimdesk_admin'
                WHEN pg_has_role(login, 'claimdesk_supervisor', 'MEMBER') THEN 'claimdesk_supervisor'
                WHEN pg_has_role(login, 'claimdesk_credentialing', 'MEMBER') THEN 'claimdesk_credentialing'
                WHEN pg_has_role(login, 'claimdesk_adjudicator', 'MEMBER') THEN 'claimdesk_adjudicator'
                ELSE 'none' END
$$;

CREATE OR REPLACE FUNCTION audit_append(
    p_action text, p_resource_type text, p_resource_id text, p_member_id uuid,
    p_phi_accessed boolean, p_old jsonb DEFAULT NULL, p_new jsonb DEFAULT NULL
) RETURNS bigint
LANGUAGE plpgsql SECURITY DEFINER SET search_path = claimdesk, pg_catalog AS $$
DECLARE
    head audit_chain_head%ROWTYPE;
    v_lane smallint := pg_backend_pid() % 8;
    v_seq bigint;
    v_lane_seq bigint;
    v_at timestamptz := clock_timestamp();
    v_user text := session_user;
    v_role text := staff_role();
    v_client jsonb := jsonb_build_object(
        'application_name', current_setting('application_name'),
        'client_addr', host(inet_client_addr()),
        'client', nullif(current_setting('claimdesk.client', true), ''));
    v_hash bytea;
BEGIN
    SELECT * INTO head FROM audit_chain_head WHERE lane = v_lane FOR UPDATE;
    v_lane_seq := head.last_seq + 1;
    v_seq := nextval('audit_seq');
    v_hash := audit_row_hash_v2(head.last_hash, v_seq, v_lane, v_lane_seq, v_at, v_user, v_role, p_action,
                                p_resource_type, p_resource_id, p_member_id, p_phi_accessed, p_old, p_new, v_client);
    INSERT INTO audit_log (seq, occurred_at, db_user, db_role, action, resource_type, resource_id, member_id,
                           phi_accessed, old_values, new_values, client_info, prev_hash, row_hash, lane, lane_seq)
    VALUES (v_seq, v_at, v_user, v_role, p_action, p_resource_type, p_resource_id, p_member_id,
            p_phi_accessed, p_old, p_new, v_client, head.last_hash, v_hash, v_lane, v_lane_seq);
    UPDATE audit_chain_head SET last_seq = v_lane_seq, last_hash = v_hash WHERE lane = v_lane;
    RETURN v_seq;
END
$$;

SELECT assign_ownership();
REVOKE EXECUTE ON FUNCTION audit_row_hash_v2(bytea, bigint, smallint, bigint, timestamptz, text, text, text, text,
                                             text, uuid, boolean, jsonb, jsonb, jsonb) FROM PUBLIC;
