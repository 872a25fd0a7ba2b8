-- Mutations from desktop outboxes, applied exactly once.
--
-- A desktop queues decisions, notes and PHI-view events while offline and
-- sends them when it can; a send can be cut after central committed but
-- before the answer arrived, so the same mutation may arrive twice. Each
-- carries a client-made UUIDv7 key. The key is claimed first, in the same
-- transaction as the mutation: a second arrival finds it and gets the first
-- answer back; a mutation that fails (a stale version, a lost lease) rolls
-- the key back with it, so the refusal reaches the person and nothing is
-- half-applied.

-- public stays on the path: sqlx records the migration in public._sqlx_migrations
-- inside this same transaction.
SET LOCAL search_path = claimdesk, public, pg_catalog;

CREATE TABLE applied_mutation (
    key uuid PRIMARY KEY,
    login text NOT NULL,
    kind text NOT NULL CHECK (kind IN ('decide', 'note', 'phi_view')),
    claim_id uuid,
    result jsonb NOT NULL,
    applied_at timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX applied_mutation_login_idx ON applied_mutation (login, applied_at);

-- Applies one outbox mutation. p_payload by kind:
--   decide:   {"claim_id", "version", "decision", "lines", "denial_group_code",
--              "denial_carc", "explanation", "pend_reason"}
--   note:     {"claim_id", "body"}
--   phi_view: {"resource_type", "resource_id", "member_id", "viewed_at"}
-- Returns {"applied": true|false (false: an earlier arrival did it), ...}.
CREATE FUNCTION apply_mutation(p_key uuid, p_kind text, p_payload jsonb) RETURNS jsonb
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
            p_payload ->> 'denial_carc', p_payload ->> 'explanation', p_payload ->> 'pend_reason'));
    WHEN 'note' THEN
        v_result := jsonb_build_object('note_id', claim_add_note(v_claim, p_payload ->> 'body'));
    WHEN 'phi_view' THEN
        -- The time the person looked, not the time the event reached us.
        v_result := jsonb_build_object('audit_id', audit_append(
            'view', p_payload ->> 'resource_type', p_payload ->> 'resource_id',
            (p_payload ->> 'member_id')::uuid, true, NULL,
            jsonb_build_object('viewed_at', p_payload ->> 'viewed_at', 'via', 'outbox')));
    ELSE
        RAISE EXCEPTION 'unknown mutation kind %', p_kind USING ERRCODE = 'CD005';
    END CASE;

    UPDATE applied_mutation SET result = v_result WHERE key = p_key;
    RETURN v_result || jsonb_build_object('applied', true);
END
$$;

SELECT assign_ownership();
REVOKE EXECUTE ON FUNCTION apply_mutation(uuid, text, jsonb) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION apply_mutation(uuid, text, jsonb) TO claimdesk_staff;
