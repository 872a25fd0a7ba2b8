-- Two gaps closed after 0004: row security on PHI-bearing child tables, and
-- audit triggers on benefit design and employer tables.
--
-- Row security follows restricted members and their claims into every table
-- that carries their PHI, so a claim id alone does not reveal the lines,
-- diagnoses, notes, documents or coverage of a restricted record. The policy
-- asks the parent table as the caller, so the parent's own policy decides.

-- public stays on the path: sqlx records the migration in public._sqlx_migrations
-- inside this same transaction.
SET LOCAL search_path = claimdesk, public, pg_catalog;

DO $$
DECLARE t text;
BEGIN
    FOREACH t IN ARRAY ARRAY['claim_line', 'claim_diagnosis', 'claim_note', 'claim_status_history',
                             'appeal', 'document'] LOOP
        EXECUTE format('ALTER TABLE claimdesk.%I ENABLE ROW LEVEL SECURITY', t);
        EXECUTE format('CREATE POLICY visible_claim ON claimdesk.%I FOR SELECT TO claimdesk_staff
                        USING (EXISTS (SELECT FROM claimdesk.claim c WHERE c.id = claim_id))', t);
    END LOOP;
    FOREACH t IN ARRAY ARRAY['coverage_period', 'accumulator'] LOOP
        EXECUTE format('ALTER TABLE claimdesk.%I ENABLE ROW LEVEL SECURITY', t);
        EXECUTE format('CREATE POLICY visible_member ON claimdesk.%I FOR SELECT TO claimdesk_staff
                        USING (EXISTS (SELECT FROM claimdesk.member m WHERE m.id = member_id))', t);
    END LOOP;
    ALTER TABLE claimdesk.policy ENABLE ROW LEVEL SECURITY;
    CREATE POLICY visible_member ON claimdesk.policy FOR SELECT TO claimdesk_staff
        USING (EXISTS (SELECT FROM claimdesk.member m WHERE m.id = subscriber_id));
END
$$;

-- Benefit design and employer changes are state changes too: audit them.
DO $$
DECLARE t text;
BEGIN
    FOREACH t IN ARRAY ARRAY['employer_group', 'plan', 'plan_benefit'] LOOP
        EXECUTE format('CREATE TRIGGER audit_row_change AFTER INSERT OR UPDATE OR DELETE ON claimdesk.%I
                        FOR EACH ROW EXECUTE FUNCTION claimdesk.audit_row_change()', t);
    END LOOP;
END
$$;

SELECT assign_ownership();
