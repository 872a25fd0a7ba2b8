-- The supervisor's reading of the audit trail: filters by claim and
-- provider, the indexes behind each filter, read access, and the export
-- recorded as an event of its own.

SET LOCAL search_path = claimdesk, public, pg_catalog;

-- Which claim an audit row is about: the claim itself (its changes,
-- releases, reassignments, views) or a row that belongs to one.
CREATE FUNCTION audit_claim_of(p_type text, p_id text, p_old jsonb, p_new jsonb) RETURNS text
LANGUAGE sql IMMUTABLE PARALLEL SAFE AS $$
    SELECT CASE
        WHEN p_type = 'claim' THEN p_id
        WHEN p_type IN ('claim_line', 'claim_note', 'claim_diagnosis', 'document', 'appeal')
            THEN coalesce(p_new ->> 'claim_id', p_old ->> 'claim_id')
    END
$$;

-- Which provider: the provider's own row, their credentials and contracts.
CREATE FUNCTION audit_provider_of(p_type text, p_id text, p_old jsonb, p_new jsonb) RETURNS text
LANGUAGE sql IMMUTABLE PARALLEL SAFE AS $$
    SELECT CASE
        WHEN p_type = 'provider' THEN p_id
        WHEN p_type IN ('provider_credential', 'contract')
            THEN coalesce(p_new ->> 'provider_id', p_old ->> 'provider_id')
    END
$$;

-- One index per filter, each ending in seq so a page is one ordered index
-- range read backwards (keyset), however deep. (User, member, time and
-- resource indexes exist since 0003.) Each costs appends a little: the
-- audit benchmark in BENCHMARKS.md measures appends with all of them.
CREATE INDEX audit_log_claim_idx ON audit_log (audit_claim_of(resource_type, resource_id, old_values, new_values), seq)
    WHERE audit_claim_of(resource_type, resource_id, old_values, new_values) IS NOT NULL;
CREATE INDEX audit_log_provider_idx ON audit_log (audit_provider_of(resource_type, resource_id, old_values, new_values), seq)
    WHERE audit_provider_of(resource_type, resource_id, old_values, new_values) IS NOT NULL;
CREATE INDEX audit_log_action_idx ON audit_log (action, seq);
CREATE INDEX audit_log_role_idx ON audit_log (db_role, seq);
CREATE INDEX audit_log_phi_idx ON audit_log (seq) WHERE phi_accessed;

-- An export of the trail leaves the database with whatever PHI its rows
-- hold, so it is an event of its own: the filter, the rows, the file.
CREATE FUNCTION record_audit_export(p_filter jsonb, p_rows bigint, p_file text, p_member uuid)
RETURNS bigint
LANGUAGE plpgsql SECURITY DEFINER SET search_path = claimdesk, pg_catalog AS $$
BEGIN
    PERFORM require_role(ARRAY['claimdesk_supervisor', 'claimdesk_admin']);
    RETURN audit_append('export', 'audit_log', NULL, p_member, true, NULL,
                        jsonb_build_object('filter', p_filter, 'rows', p_rows, 'file', p_file));
END
$$;

SELECT assign_ownership();
REVOKE EXECUTE ON FUNCTION audit_claim_of(text, text, jsonb, jsonb), audit_provider_of(text, text, jsonb, jsonb),
    record_audit_export(jsonb, bigint, text, uuid) FROM PUBLIC;
-- Supervisors read the trail and verify its chain; nobody but the owner writes it.
GRANT SELECT ON audit_log, audit_chain_head TO claimdesk_supervisor;
CREATE POLICY audit_log_supervisors_read ON audit_log FOR SELECT TO claimdesk_supervisor USING (true);
GRANT EXECUTE ON FUNCTION audit_claim_of(text, text, jsonb, jsonb), audit_provider_of(text, text, jsonb, jsonb)
    TO claimdesk_supervisor;
GRANT EXECUTE ON FUNCTION record_audit_export(jsonb, bigint, text, uuid) TO claimdesk_supervisor;
