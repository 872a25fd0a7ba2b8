-- OIG LEIE exclusion screening (NCQA: exclusions monitored monthly).
--
-- Each monthly import keeps its list: the key that identifies an entry from
-- one month to the next and what a reviewer reads (name, NPI, state,
-- authority, date). Not dates of birth or street addresses: matching runs
-- in the importing client, and the database keeps only what shows why a
-- provider was flagged. The next import diffs against the latest one.
--
-- Acting on a match is one SECURITY DEFINER function: the importing role
-- (credentialing staff, or an administrator through claimdesk-admin) may
-- not otherwise change providers or claims. It flags the provider and
-- pends their open claims with a reason; the audit triggers on provider and
-- claim record both, under the importing login. A provider is never
-- unflagged here: a reinstatement is listed for credentialing staff, who
-- recredential before the network pays again.

SET LOCAL search_path = claimdesk, public, pg_catalog;

INSERT INTO pend_reason (code, description, default_days) VALUES
    ('provider_excluded',
     'Provider excluded from federal health care programs (OIG LEIE): payment prohibited', 90);

CREATE TABLE leie_import (
    id uuid PRIMARY KEY,
    imported_at timestamptz NOT NULL DEFAULT now(),
    imported_by text NOT NULL DEFAULT session_user,
    file_sha256 bytea NOT NULL CHECK (length(file_sha256) = 32),
    entries int NOT NULL CHECK (entries > 0),
    new_count int NOT NULL CHECK (new_count >= 0),
    reinstated_count int NOT NULL CHECK (reinstated_count >= 0),
    flagged_count int NOT NULL DEFAULT 0,
    pended_count int NOT NULL DEFAULT 0
);
CREATE INDEX leie_import_at_idx ON leie_import (imported_at DESC);

CREATE TABLE leie_entry (
    import_id uuid NOT NULL REFERENCES leie_import ON DELETE CASCADE,
    key text NOT NULL,
    npi text CHECK (npi IS NULL OR npi_is_valid(npi)),
    name text NOT NULL,
    state text,
    exclusion_type text NOT NULL,
    exclusion_date date NOT NULL,
    PRIMARY KEY (import_id, key)
);

-- Who each import flagged and how: the evidence behind every flag.
CREATE TABLE leie_match (
    import_id uuid NOT NULL REFERENCES leie_import ON DELETE CASCADE,
    provider_id uuid NOT NULL REFERENCES provider,
    entry_key text NOT NULL,
    matched_by text NOT NULL CHECK (matched_by IN ('npi', 'name_state')),
    newly_flagged boolean NOT NULL,
    claims_pended int NOT NULL,
    PRIMARY KEY (import_id, provider_id, entry_key),
    FOREIGN KEY (import_id, entry_key) REFERENCES leie_entry (import_id, key)
);

-- Flags provider p_provider as excluded by entry p_entry_key of import
-- p_import and pends their open claims. Says whether the flag is new and
-- how many claims were pended.
CREATE FUNCTION leie_flag(p_import uuid, p_provider uuid, p_entry_key text, p_matched_by text,
                          OUT v_new boolean, OUT v_pended int)
LANGUAGE plpgsql SECURITY DEFINER SET search_path = claimdesk, pg_catalog AS $$
DECLARE
    e leie_entry;
BEGIN
    PERFORM require_role(ARRAY['claimdesk_credentialing', 'claimdesk_admin']);
    SELECT * INTO e FROM leie_entry WHERE import_id = p_import AND key = p_entry_key;
    IF NOT FOUND THEN
        RAISE EXCEPTION 'no such LEIE entry' USING ERRCODE = 'CD006';
    END IF;
    UPDATE provider SET excluded = true, exclusion_source = 'oig_leie',
        exclusion_date = e.exclusion_date, exclusion_checked_at = now()
    WHERE id = p_provider AND NOT excluded;
    v_new := FOUND;
    PERFORM set_config('claimdesk.status_reason',
        format('Provider excluded: OIG LEIE %s since %s (matched by %s)', e.exclusion_type,
               e.exclusion_date, replace(p_matched_by, '_', ' and ')), true);
    UPDATE claim SET status = 'pended', pend_reason = 'provider_excluded',
        pend_until = current_date + 90, version = version + 1
    WHERE provider_id = p_provider AND status IN ('received', 'in_review', 'appealed');
    GET DIAGNOSTICS v_pended = ROW_COUNT;
    -- Whoever holds one of those claims loses the lease; a decision they
    -- send meets the new version and comes back to them as a conflict.
    UPDATE queue_entry SET lease_holder = NULL, leased_at = NULL, lease_expires_at = NULL
    WHERE lease_holder IS NOT NULL AND claim_id IN (
        SELECT id FROM claim WHERE provider_id = p_provider AND pend_reason = 'provider_excluded');
    PERFORM set_config('claimdesk.status_reason', '', true);
    INSERT INTO leie_match (import_id, provider_id, entry_key, matched_by, newly_flagged, claims_pended)
    VALUES (p_import, p_provider, p_entry_key, p_matched_by, v_new, v_pended);
    UPDATE leie_import SET flagged_count = flagged_count + v_new::int, pended_count = pended_count + v_pended
    WHERE id = p_import;
END
$$;

-- Records that every provider was screened against import p_import.
CREATE FUNCTION leie_screened(p_import uuid) RETURNS void
LANGUAGE plpgsql SECURITY DEFINER SET search_path = claimdesk, pg_catalog AS $$
BEGIN
    PERFORM require_role(ARRAY['claimdesk_credentialing', 'claimdesk_admin']);
    IF NOT EXISTS (SELECT FROM leie_import WHERE id = p_import) THEN
        RAISE EXCEPTION 'no such LEIE import' USING ERRCODE = 'CD006';
    END IF;
    UPDATE provider SET exclusion_checked_at = now();
END
$$;

SELECT assign_ownership();
GRANT SELECT, INSERT ON leie_import, leie_entry TO claimdesk_credentialing;
GRANT SELECT ON leie_match TO claimdesk_credentialing;
GRANT SELECT ON leie_import, leie_entry, leie_match TO claimdesk_supervisor;
GRANT EXECUTE ON FUNCTION leie_flag(uuid, uuid, text, text), leie_screened(uuid) TO claimdesk_credentialing;
