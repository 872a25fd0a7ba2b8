-- The security model. Hundreds of desktop clients connect directly, so the
-- database trusts none of them:
-- * every person is a login role in exactly one group: claimdesk_adjudicator,
--   claimdesk_credentialing, claimdesk_supervisor (who is also an
--   adjudicator) or claimdesk_admin, which owns the schema;
-- * groups get SELECT on what their work needs, column by column where a
--   table holds ciphertext, and nothing else;
-- * every state change goes through a SECURITY DEFINER function (here and in
--   later migrations, e.g. claim_decide in 0007), with
--   a fixed search_path, that checks the caller's group and the claim's state;
-- * row security hides restricted members and their claims from all but
--   supervisors;
-- * the audit log is reachable only by the admin, and through audit_append.

-- public stays on the path: sqlx records the migration in public._sqlx_migrations
-- inside this same transaction.
SET LOCAL search_path = claimdesk, public, pg_catalog;

-- Group roles are cluster-wide: create each once, tolerating a concurrent
-- migration of another database on the same cluster.
DO $$
DECLARE r text;
BEGIN
    FOREACH r IN ARRAY ARRAY['claimdesk_adjudicator', 'claimdesk_credentialing',
                             'claimdesk_supervisor', 'claimdesk_admin'] LOOP
        BEGIN
            EXECUTE format('CREATE ROLE %I NOLOGIN IN ROLE claimdesk_staff', r);
        EXCEPTION WHEN duplicate_object OR unique_violation THEN
            NULL;
        END;
    END LOOP;
END
$$;
GRANT claimdesk_adjudicator TO claimdesk_supervisor;

-- Error codes the client maps to its own (core::central): class CD.
--   CD001 version conflict   CD002 lease not held   CD003 invalid transition
--   CD004 not permitted      CD005 invalid input    CD006 not found
--   CD007 queue empty

CREATE FUNCTION require_role(p_roles text[]) RETURNS void
LANGUAGE plpgsql STABLE SET search_path = claimdesk, pg_catalog AS $$
BEGIN
    IF NOT EXISTS (
        SELECT FROM unnest(p_roles) AS r JOIN pg_roles pr ON pr.rolname = r
        WHERE pg_has_role(session_user, pr.oid, 'MEMBER')
    ) THEN
        RAISE EXCEPTION 'not permitted for %', session_user USING ERRCODE = 'CD004';
    END IF;
END
$$;

-- ---------------------------------------------------------------------------
-- Claim work: checkout, heartbeat, release, reassign, decide, notes
-- ---------------------------------------------------------------------------

-- Leases the next claim in queue order to the caller, in one statement:
-- SKIP LOCKED lets a floor of adjudicators check out at once without waiting
-- on each other, and no transaction stays open while they think. Expired
-- leases are cleared here first, so abandoned claims return to the queue by
-- themselves. Checkout only leases: whether someone works a claim is the
-- lease, not a status, and status changes are audited (serialising on the
-- audit chain head), which a floor of checkouts must not be.
CREATE FUNCTION claim_checkout(p_lease interval DEFAULT interval '15 minutes')
RETURNS TABLE (claim_id uuid, version int, lease_expires_at timestamptz)
LANGUAGE plpgsql SECURITY DEFINER SET search_path = claimdesk, pg_catalog AS $$
#variable_conflict use_column
DECLARE
    v_supervisor boolean := pg_has_role(session_user, 'claimdesk_supervisor', 'MEMBER');
BEGIN
    PERFORM require_role(ARRAY['claimdesk_adjudicator']);
    IF p_lease < interval '1 minute' OR p_lease > interval '2 hours' THEN
        RAISE EXCEPTION 'lease must be between 1 minute and 2 hours' USING ERRCODE = 'CD005';
    END IF;

    WITH expired AS (
        SELECT c.id FROM claim c
        WHERE c.lease_holder IS NOT NULL AND c.lease_expires_at < now()
        ORDER BY c.lease_expires_at
        LIMIT 50
        FOR UPDATE SKIP LOCKED
    )
    UPDATE claim c SET lease_holder = NULL, lease_expires_at = NULL
    FROM expired WHERE c.id = expired.id;

    RETURN QUERY
    WITH next AS (
        SELECT c.id FROM claim c
        WHERE c.status IN ('received', 'in_review', 'appealed') AND c.lease_holder IS NULL
          AND (v_supervisor OR NOT c.restricted)
        ORDER BY c.priority_rank, c.prompt_pay_due, c.received_at, c.id
        LIMIT 1
        FOR UPDATE SKIP LOCKED
    )
    UPDATE claim c
    SET lease_holder = session_user, lease_expires_at = now() + p_lease
    FROM next WHERE c.id = next.id
    RETURNING c.id, c.version, c.lease_expires_at;

    IF NOT FOUND THEN
        RAISE EXCEPTION 'no claim is waiting in the queue' USING ERRCODE = 'CD007';
    END IF;
END
$$;

-- Locks a claim the caller must hold a live lease on.
CREATE FUNCTION claim_for_holder(p_claim uuid) RETURNS claim
LANGUAGE plpgsql SET search_path = claimdesk, pg_catalog AS $$
DECLARE c claim;
BEGIN
    SELECT * INTO c FROM claim WHERE id = p_claim FOR UPDATE;
    IF NOT FOUND THEN
        RAISE EXCEPTION 'no such claim' USING ERRCODE = 'CD006';
    END IF;
    IF c.lease_holder IS DISTINCT FROM session_user::text OR c.lease_expires_at < now() THEN
        RAISE EXCEPTION 'you do not hold the lease on this claim' USING ERRCODE = 'CD002';
    END IF;
    RETURN c;
END
$$;

CREATE FUNCTION claim_heartbeat(p_claim uuid, p_lease interval DEFAULT interval '15 minutes')
RETURNS timestamptz
LANGUAGE plpgsql SECURITY DEFINER SET search_path = claimdesk, pg_catalog AS $$
DECLARE v_until timestamptz;
BEGIN
    PERFORM require_role(ARRAY['claimdesk_adjudicator']);
    PERFORM claim_for_holder(p_claim);
    UPDATE claim SET lease_expires_at = now() + least(p_lease, interval '2 hours')
    WHERE id = p_claim RETURNING lease_expires_at INTO v_until;
    RETURN v_until;
END
$$;

CREATE FUNCTION claim_release(p_claim uuid) RETURNS void
LANGUAGE plpgsql SECURITY DEFINER SET search_path = claimdesk, pg_catalog AS $$
BEGIN
    PERFORM require_role(ARRAY['claimdesk_adjudicator']);
    PERFORM claim_for_holder(p_claim);
    UPDATE claim SET lease_holder = NULL, lease_expires_at = NULL WHERE id = p_claim;
    PERFORM audit_append('release', 'claim', p_claim::text, (SELECT member_id FROM claim WHERE id = p_claim), false);
END
$$;

-- A supervisor moves a claim to another adjudicator (or back to the queue
-- with p_to NULL).
CREATE FUNCTION claim_reassign(p_claim uuid, p_to text, p_lease interval DEFAULT interval '15 minutes')
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
    SELECT lease_holder INTO v_old FROM claim WHERE id = p_claim FOR UPDATE;
    IF NOT FOUND THEN
        RAISE EXCEPTION 'no such claim' USING ERRCODE = 'CD006';
    END IF;
    UPDATE claim SET lease_holder = p_to,
                     lease_expires_at = CASE WHEN p_to IS NULL THEN NULL ELSE now() + p_lease END
    WHERE id = p_claim;
    -- The lease columns are not audited by the row trigger's PHI rules, so
    -- say explicitly who moved what.
    PERFORM audit_append('reassign', 'claim', p_claim::text, (SELECT member_id FROM claim WHERE id = p_claim), false,
                         jsonb_build_object('lease_holder', v_old), jsonb_build_object('lease_holder', p_to));
END
$$;

CREATE FUNCTION claim_add_note(p_claim uuid, p_body text) RETURNS uuid
LANGUAGE plpgsql SECURITY DEFINER SET search_path = claimdesk, pg_catalog AS $$
DECLARE v_id uuid := gen_random_uuid();
BEGIN
    PERFORM require_role(ARRAY['claimdesk_adjudicator']);
    IF length(btrim(coalesce(p_body, ''))) = 0 THEN
        RAISE EXCEPTION 'a note needs text' USING ERRCODE = 'CD005';
    END IF;
    IF NOT EXISTS (SELECT FROM claim WHERE id = p_claim) THEN
        RAISE EXCEPTION 'no such claim' USING ERRCODE = 'CD006';
    END IF;
    INSERT INTO claim_note (id, claim_id, author, body) VALUES (v_id, p_claim, session_user, p_body);
    RETURN v_id;
END
$$;

-- ---------------------------------------------------------------------------
-- Credentialing
-- ---------------------------------------------------------------------------

-- Records a primary-source verification. Who and when come from the session
-- and the server clock, never from the client.
CREATE FUNCTION credential_verify(p_credential uuid, p_source text, p_result text, p_notes text DEFAULT NULL)
RETURNS uuid
LANGUAGE plpgsql SECURITY DEFINER SET search_path = claimdesk, pg_catalog AS $$
DECLARE v_id uuid := gen_random_uuid();
BEGIN
    PERFORM require_role(ARRAY['claimdesk_credentialing', 'claimdesk_admin']);
    IF length(btrim(coalesce(p_source, ''))) = 0 THEN
        RAISE EXCEPTION 'name the primary source' USING ERRCODE = 'CD005';
    END IF;
    IF NOT EXISTS (SELECT FROM provider_credential WHERE id = p_credential) THEN
        RAISE EXCEPTION 'no such credential' USING ERRCODE = 'CD006';
    END IF;
    INSERT INTO credential_verification (id, credential_id, source, result, verified_by, verified_at, notes)
    VALUES (v_id, p_credential, p_source, p_result, session_user, now(), p_notes);
    UPDATE provider_credential SET
        status = CASE p_result WHEN 'verified' THEN 'verified' WHEN 'expired' THEN 'expired'
                               WHEN 'revoked' THEN 'revoked' ELSE 'pending' END,
        verification_source = p_source, verified_by = session_user, verified_at = now()
    WHERE id = p_credential;
    RETURN v_id;
END
$$;

-- ---------------------------------------------------------------------------
-- PHI views
-- ---------------------------------------------------------------------------

-- The client calls this whenever it shows a person's PHI.
CREATE FUNCTION record_phi_view(p_resource_type text, p_resource_id text, p_member_id uuid)
RETURNS bigint
LANGUAGE plpgsql SECURITY DEFINER SET search_path = claimdesk, pg_catalog AS $$
BEGIN
    PERFORM require_role(ARRAY['claimdesk_adjudicator', 'claimdesk_credentialing', 'claimdesk_admin']);
    RETURN audit_append('view', p_resource_type, p_resource_id, p_member_id, true);
END
$$;

-- ---------------------------------------------------------------------------
-- Row security
-- ---------------------------------------------------------------------------

ALTER TABLE member ENABLE ROW LEVEL SECURITY;
CREATE POLICY member_unrestricted ON member FOR SELECT TO claimdesk_staff
    USING (NOT restricted OR pg_has_role('claimdesk_supervisor', 'MEMBER'));
ALTER TABLE claim ENABLE ROW LEVEL SECURITY;
CREATE POLICY claim_unrestricted ON claim FOR SELECT TO claimdesk_staff
    USING (NOT restricted OR pg_has_role('claimdesk_supervisor', 'MEMBER'));
-- The audit log has row security with no policy: only its owner sees rows.
ALTER TABLE audit_log ENABLE ROW LEVEL SECURITY;

-- ---------------------------------------------------------------------------
-- Ownership and grants
-- ---------------------------------------------------------------------------

-- Hands every object in the schema to claimdesk_admin. Later migrations end
-- with a call to it.
CREATE FUNCTION assign_ownership() RETURNS void
LANGUAGE plpgsql SET search_path = claimdesk, pg_catalog AS $$
DECLARE o record;
BEGIN
    EXECUTE 'ALTER SCHEMA claimdesk OWNER TO claimdesk_admin';
    FOR o IN
        SELECT c.relname, c.relkind FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
        WHERE n.nspname = 'claimdesk' AND c.relkind IN ('r', 'v', 'S', 'p')
    LOOP
        EXECUTE format('ALTER %s claimdesk.%I OWNER TO claimdesk_admin',
                       CASE o.relkind WHEN 'v' THEN 'VIEW' WHEN 'S' THEN 'SEQUENCE' ELSE 'TABLE' END, o.relname);
    END LOOP;
    FOR o IN
        SELECT p.oid::regprocedure AS sig FROM pg_proc p JOIN pg_namespace n ON n.oid = p.pronamespace
        WHERE n.nspname = 'claimdesk'
    LOOP
        EXECUTE format('ALTER FUNCTION %s OWNER TO claimdesk_admin', o.sig);
    END LOOP;
END
$$;
SELECT assign_ownership();

-- Functions are executable by PUBLIC by default; here nothing is unless granted.
REVOKE EXECUTE ON ALL FUNCTIONS IN SCHEMA claimdesk FROM PUBLIC;
ALTER DEFAULT PRIVILEGES IN SCHEMA claimdesk REVOKE EXECUTE ON FUNCTIONS FROM PUBLIC;
ALTER DEFAULT PRIVILEGES FOR ROLE claimdesk_admin IN SCHEMA claimdesk REVOKE EXECUTE ON FUNCTIONS FROM PUBLIC;

-- Grants SELECT on every column of a table except ciphertext.
CREATE FUNCTION grant_select_without_ciphertext(p_table text, p_role text) RETURNS void
LANGUAGE plpgsql SET search_path = claimdesk, pg_catalog AS $$
DECLARE cols text;
BEGIN
    SELECT string_agg(quote_ident(column_name), ', ' ORDER BY ordinal_position) INTO cols
    FROM information_schema.columns
    WHERE table_schema = 'claimdesk' AND table_name = p_table AND column_name NOT LIKE '%\_ciphertext';
    EXECUTE format('GRANT SELECT (%s) ON claimdesk.%I TO %I', cols, p_table, p_role);
END
$$;

GRANT USAGE ON SCHEMA claimdesk TO claimdesk_staff;
GRANT SELECT ON group_code, carc, rarc, pend_reason, place_of_service, benefit_category, cpt_code,
                icd10_code, ncci_ptp, change_tombstone TO claimdesk_staff;
GRANT EXECUTE ON FUNCTION npi_is_valid(text), staff_role(name), synced_tables(),
                          record_phi_view(text, text, uuid) TO claimdesk_staff;

-- Credentialing: providers, credentials, contracts. No member or claim PHI.
SELECT grant_select_without_ciphertext('provider', 'claimdesk_credentialing');
GRANT SELECT ON provider_credential, credential_verification, contract, fee_schedule TO claimdesk_credentialing;
GRANT EXECUTE ON FUNCTION credential_verify(uuid, text, text, text) TO claimdesk_credentialing;

-- Adjudicators (and so supervisors): what a claim decision needs to read.
SELECT grant_select_without_ciphertext(t, 'claimdesk_adjudicator')
FROM unnest(ARRAY['member', 'provider', 'employer_group']) AS t;
GRANT SELECT ON plan, plan_benefit, policy, coverage_period, accumulator, family_accumulator,
                provider_credential, credential_verification, contract, fee_schedule,
                claim, claim_line, claim_diagnosis, claim_note, claim_status_history, appeal,
                document, document_content TO claimdesk_adjudicator;
GRANT EXECUTE ON FUNCTION check_eligibility(uuid, date), claim_checkout(interval),
    claim_heartbeat(uuid, interval), claim_release(uuid), claim_add_note(uuid, text) TO claimdesk_adjudicator;

-- Supervisors: reassign leases.
GRANT EXECUTE ON FUNCTION claim_reassign(uuid, text, interval) TO claimdesk_supervisor;

-- Helpers used inside definer functions stay private.
REVOKE EXECUTE ON FUNCTION grant_select_without_ciphertext(text, text), assign_ownership() FROM PUBLIC;
