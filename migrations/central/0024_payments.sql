-- The payment cycle (issue 21): finalized claims paid once, one payment and
-- one 835 per payee.
--
-- * The seeds mark a claim 'paid' and keep no payment. A payer needs the
--   payment itself (the check or EFT, its trace number and amount) and the
--   835 that went with it, so both are rows here, written in the same
--   transaction as the claims they pay: a run killed between payees leaves
--   whole payments, and the next run pays only what has no payment yet.
-- * The payee is the billing provider (the 837's 2010AA, paid by the 835);
--   claims from before intake have only the rendering provider, who is then
--   also the payee.
-- * Denied claims are remitted too (CLP02 4, nothing paid) and recorded
--   here, so each decided claim appears in exactly one advice; they keep
--   their status 'denied'. Approved claims become 'paid'.
-- * Prompt-pay interest owed on a claim paid after its due date is paid
--   with it (PLB L6 in the 835) and kept per claim.

SET LOCAL search_path = claimdesk, public, pg_catalog;

CREATE TABLE payment_run (
    id uuid PRIMARY KEY,
    -- Claims decided on or before this day are paid.
    through date NOT NULL,
    -- The day the money moves (BPR16).
    payment_date date NOT NULL,
    started_at timestamptz NOT NULL DEFAULT now(),
    started_by text NOT NULL DEFAULT session_user,
    status text NOT NULL DEFAULT 'running' CHECK (status IN ('running', 'complete')),
    completed_at timestamptz,
    payments int NOT NULL DEFAULT 0,
    claims int NOT NULL DEFAULT 0,
    amount numeric(14,2) NOT NULL DEFAULT 0,
    created_at timestamptz NOT NULL DEFAULT now(),
    updated_at timestamptz NOT NULL DEFAULT now()
);
-- One run at a time: a second start resumes the one under way.
CREATE UNIQUE INDEX payment_run_one_running ON payment_run ((true)) WHERE status = 'running';

CREATE SEQUENCE payment_trace_seq MINVALUE 100001 MAXVALUE 9999999999;

CREATE TABLE payment (
    id uuid PRIMARY KEY,
    run_id uuid NOT NULL REFERENCES payment_run,
    payee_provider_id uuid NOT NULL REFERENCES provider,
    payee_npi text NOT NULL,
    method text NOT NULL CHECK (method IN ('check', 'ach', 'none')),
    -- TRN02: the check number or EFT trace.
    trace_number text NOT NULL UNIQUE,
    amount numeric(14,2) NOT NULL CHECK (amount >= 0),
    interest numeric(12,2) NOT NULL DEFAULT 0 CHECK (interest >= 0),
    claims int NOT NULL CHECK (claims > 0),
    payment_date date NOT NULL,
    -- The advice as sent (ISA..IEA); it names patients, like the claims.
    remit_835 text NOT NULL,
    created_at timestamptz NOT NULL DEFAULT now(),
    updated_at timestamptz NOT NULL DEFAULT now(),
    CHECK ((method = 'none') = (amount = 0)),
    UNIQUE (run_id, payee_provider_id)
);
CREATE INDEX payment_payee_idx ON payment (payee_provider_id, payment_date DESC);

CREATE TABLE payment_claim (
    payment_id uuid NOT NULL REFERENCES payment,
    claim_id uuid NOT NULL REFERENCES claim,
    -- 'payment' of the claim as decided (paid or denied); 'reversal' of an
    -- earlier payment when the claim is reopened (the adjustment path).
    kind text NOT NULL CHECK (kind IN ('payment', 'reversal')),
    -- The claim's version remitted: a reopened claim is paid again at its
    -- new version.
    claim_version int NOT NULL,
    paid numeric(12,2) NOT NULL,
    interest numeric(12,2) NOT NULL DEFAULT 0 CHECK (interest >= 0),
    created_at timestamptz NOT NULL DEFAULT now(),
    updated_at timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (claim_id, kind, claim_version)
);
CREATE INDEX payment_claim_payment_idx ON payment_claim (payment_id);

-- Finance and supervisors read payments; only the run (an admin) writes.
GRANT SELECT ON payment_run, payment, payment_claim TO claimdesk_supervisor;

DO $$
BEGIN
    EXECUTE 'CREATE TRIGGER touch_updated_at BEFORE UPDATE ON claimdesk.payment_run FOR EACH ROW EXECUTE FUNCTION claimdesk.touch_updated_at()';
END
$$;

SELECT assign_ownership();
