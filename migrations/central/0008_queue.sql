-- The queue's list view and prompt-pay rules.

-- public stays on the path: sqlx records the migration in public._sqlx_migrations
-- inside this same transaction.
SET LOCAL search_path = claimdesk, public, pg_catalog;

-- Prompt-pay days per line of business, configurable (30 unless a payer's
-- state or contract says otherwise).
CREATE TABLE prompt_pay_rule (
    line_of_business text PRIMARY KEY
        CHECK (line_of_business IN ('commercial', 'medicare_advantage', 'medicaid', 'exchange')),
    days int NOT NULL DEFAULT 30 CHECK (days BETWEEN 1 AND 365)
);
INSERT INTO prompt_pay_rule VALUES ('commercial', 30), ('medicare_advantage', 30), ('medicaid', 30), ('exchange', 30);
CREATE TRIGGER audit_row_change AFTER INSERT OR UPDATE OR DELETE ON prompt_pay_rule
    FOR EACH ROW EXECUTE FUNCTION audit_row_change();

-- The due date for a claim received on a day under a policy.
CREATE FUNCTION prompt_pay_due_for(p_policy uuid, p_received date) RETURNS date
LANGUAGE sql STABLE SET search_path = claimdesk, pg_catalog AS $$
    SELECT p_received + coalesce(
        (SELECT r.days FROM policy po JOIN plan pl ON pl.id = po.plan_id
         JOIN prompt_pay_rule r ON r.line_of_business = pl.line_of_business WHERE po.id = p_policy),
        30)
$$;

-- Listing reads open claims, leased or not, in queue order; the checkout
-- index covers only unleased ones.
CREATE INDEX claim_open_order_idx ON claim (priority_rank, prompt_pay_due, received_at, id)
    WHERE status IN ('received', 'in_review', 'appealed', 'pended');

-- Checkouts and heartbeats change only lease columns. On a floor of
-- adjudicators they are the hottest write, so the claim's audit and NOTIFY
-- triggers skip them: the audit diff would be empty anyway, and NOTIFY
-- serialises committing transactions on one lock. (change_xid is still
-- stamped, so sync sees lease changes on its next pull.) The WHEN clause
-- lists every other column; a migration that adds claim columns must call
-- refresh_claim_change_triggers() again.
CREATE FUNCTION refresh_claim_change_triggers() RETURNS void
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
    DROP TRIGGER IF EXISTS notify_change ON claim;
    DROP TRIGGER IF EXISTS notify_change_write ON claim;
    DROP TRIGGER IF EXISTS notify_change_update ON claim;
    CREATE TRIGGER audit_row_change_write AFTER INSERT OR DELETE ON claim
        FOR EACH ROW EXECUTE FUNCTION audit_row_change();
    EXECUTE format('CREATE TRIGGER audit_row_change AFTER UPDATE ON claimdesk.claim FOR EACH ROW
                    WHEN (%s) EXECUTE FUNCTION claimdesk.audit_row_change()', cond);
    CREATE TRIGGER notify_change_write AFTER INSERT OR DELETE ON claim
        FOR EACH STATEMENT EXECUTE FUNCTION notify_change();
    EXECUTE format('CREATE TRIGGER notify_change_update AFTER UPDATE ON claimdesk.claim FOR EACH ROW
                    WHEN (%s) EXECUTE FUNCTION claimdesk.notify_change()', cond);
END
$$;
SELECT refresh_claim_change_triggers();

SELECT assign_ownership();
REVOKE EXECUTE ON FUNCTION prompt_pay_due_for(uuid, date), refresh_claim_change_triggers() FROM PUBLIC;
GRANT EXECUTE ON FUNCTION prompt_pay_due_for(uuid, date) TO claimdesk_staff;
GRANT SELECT ON prompt_pay_rule TO claimdesk_staff;
