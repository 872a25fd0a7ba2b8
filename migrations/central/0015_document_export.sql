-- Exporting a document: saving a copy of PHI outside the app is an explicit
-- act, recorded apart from views (action 'export') so compliance can list
-- every copy that left. It travels in the outbox like a view, so an export
-- made offline reaches the trail too.
--   phi_export: {"resource_type", "resource_id", "member_id", "exported_at",
--                "file_name"}

SET LOCAL search_path = claimdesk, public, pg_catalog;

ALTER TABLE applied_mutation DROP CONSTRAINT applied_mutation_kind_check;
ALTER TABLE applied_mutation ADD CONSTRAINT applied_mutation_kind_check
    CHECK (kind IN ('decide', 'note', 'phi_view', 'attach', 'phi_export'));

-- apply_mutation, restated whole with the export kind:
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
            p_payload ->> 'denial_carc', p_payload ->> 'explanation', p_payload ->> 'pend_reason'));
    WHEN 'note' THEN
        v_result := jsonb_build_object('note_id', claim_add_note(v_claim, p_payload ->> 'body'));
    WHEN 'phi_view' THEN
        -- The time the person looked, not the time the event reached us.
        v_result := jsonb_build_object('audit_id', audit_append(
            'view', p_payload ->> 'resource_type', p_payload ->> 'resource_id',
            (p_payload ->> 'member_id')::uuid, true, NULL,
            jsonb_build_object('viewed_at', p_payload ->> 'viewed_at', 'via', 'outbox')));
    WHEN 'phi_export' THEN
        -- A copy of PHI left the app (saved to a file): its own action, so
        -- a supervisor can list exports apart from views.
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

SELECT assign_ownership();
