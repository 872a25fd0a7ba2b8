-- Attachments through the outbox.
--
-- An adjudicator attaches a file to a claim (a provider's answer to a
-- request for information, say), possibly while offline; it travels in the
-- outbox like a decision and is applied exactly once under its key. The
-- content is stored by its SHA-256 (document_content refuses a wrong hash),
-- so the same file attached twice is kept once.

SET LOCAL search_path = claimdesk, public, pg_catalog;

ALTER TABLE applied_mutation DROP CONSTRAINT applied_mutation_kind_check;
ALTER TABLE applied_mutation ADD CONSTRAINT applied_mutation_kind_check
    CHECK (kind IN ('decide', 'note', 'phi_view', 'attach'));

-- Limits a desktop checks before queueing, checked again here because a
-- client's checks are only a courtesy. 25 MiB covers a long faxed record.
CREATE FUNCTION claim_attach_document(
    p_claim uuid, p_document uuid, p_type text, p_file_name text, p_mime text, p_content bytea)
RETURNS uuid
LANGUAGE plpgsql SECURITY DEFINER SET search_path = claimdesk, public, pg_catalog AS $$
DECLARE
    v_hash bytea := sha256(p_content);
    v_magic_ok boolean;
BEGIN
    PERFORM require_role(ARRAY['claimdesk_adjudicator']);
    -- The caller's row policy, asked as the caller: a restricted claim is
    -- not there for someone who may not see it.
    IF NOT EXISTS (SELECT FROM claim WHERE id = p_claim
                   AND (NOT restricted OR pg_has_role(session_user, 'claimdesk_supervisor', 'MEMBER'))) THEN
        RAISE EXCEPTION 'no such claim' USING ERRCODE = 'CD006';
    END IF;
    IF length(btrim(coalesce(p_file_name, ''))) = 0 OR length(p_file_name) > 255 THEN
        RAISE EXCEPTION 'an attachment needs a file name of at most 255 characters' USING ERRCODE = 'CD005';
    END IF;
    IF p_content IS NULL OR length(p_content) = 0 THEN
        RAISE EXCEPTION 'the file is empty' USING ERRCODE = 'CD005';
    END IF;
    IF length(p_content) > 25 * 1024 * 1024 THEN
        RAISE EXCEPTION 'the file is larger than 25 MiB' USING ERRCODE = 'CD005';
    END IF;
    -- The content must be what its type says (first bytes of each format).
    v_magic_ok := CASE p_mime
        WHEN 'application/pdf' THEN substring(p_content FROM 1 FOR 5) = '\x255044462d'::bytea
        WHEN 'image/png' THEN substring(p_content FROM 1 FOR 8) = '\x89504e470d0a1a0a'::bytea
        WHEN 'image/jpeg' THEN substring(p_content FROM 1 FOR 3) = '\xffd8ff'::bytea
        WHEN 'image/tiff' THEN substring(p_content FROM 1 FOR 4) IN ('\x49492a00'::bytea, '\x4d4d002a'::bytea)
        ELSE false
    END;
    IF NOT v_magic_ok THEN
        RAISE EXCEPTION 'the file''s content is not a % file', p_mime USING ERRCODE = 'CD005';
    END IF;
    INSERT INTO document_content (sha256, content) VALUES (v_hash, p_content)
    ON CONFLICT (sha256) DO NOTHING;
    INSERT INTO document (id, claim_id, document_type, file_name, mime_type, size_bytes, sha256)
    VALUES (p_document, p_claim, p_type, p_file_name, p_mime, length(p_content), v_hash);
    RETURN p_document;
END
$$;

-- apply_mutation, restated whole with the attach kind:
--   attach: {"claim_id", "document_id", "document_type", "file_name",
--            "mime_type", "content" (base64)}
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
REVOKE EXECUTE ON FUNCTION claim_attach_document(uuid, uuid, text, text, text, bytea) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION claim_attach_document(uuid, uuid, text, text, text, bytea) TO claimdesk_adjudicator;
