-- The payer data model: reference codes, people and coverage, providers and
-- contracts, claims and their lines, appeals, documents.
--
-- Decisions where the seed schemas disagree:
-- * Coded values are TEXT with CHECK constraints, not native enums (seed 000
--   uses ENUM, seed 001 VARCHAR+CHECK). A CHECK can be widened or narrowed in
--   one transactional migration; an enum value can never be removed, and
--   ALTER TYPE ... ADD VALUE cannot be used in the transaction that adds it.
--   The sync cache and the generated TypeScript see plain strings either way.
-- * One schema, not one per service (seed 004). Desktop clients connect
--   directly, and adjudication joins claims, members, plans and providers in
--   one statement; a single schema keeps one permission surface to review.
-- * Every covered person is a `member` row; a dependent is a member whose
--   `subscriber_id` points at the subscriber (seeds 000/004 keep a separate
--   dependents table). A payer adjudicates each person with their own
--   eligibility, accumulators and claim history, which a dependents table
--   would have to duplicate.
-- * Money is NUMERIC(12,2) (rust_decimal), percentages NUMERIC(5,2), times
--   TIMESTAMPTZ, calendar dates DATE.
-- * Seed 000's users/sessions/password tables are not here: each person is a
--   PostgreSQL login role, so the server authenticates them (SCRAM).

-- public stays on the path: sqlx records the migration in public._sqlx_migrations
-- inside this same transaction.
SET LOCAL search_path = claimdesk, public, pg_catalog;

-- ---------------------------------------------------------------------------
-- Shared helpers
-- ---------------------------------------------------------------------------

-- Keeps updated_at honest whatever the client sends (seed 004).
CREATE FUNCTION touch_updated_at() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
    NEW.updated_at := now();
    RETURN NEW;
END
$$;

-- NPI check digit: Luhn over the prefix 80840 and the first nine digits
-- (CMS, "Requirements for NPI check digit"). 1234567893 is valid.
CREATE FUNCTION npi_is_valid(npi text) RETURNS boolean
LANGUAGE plpgsql IMMUTABLE STRICT PARALLEL SAFE AS $$
DECLARE
    digits text;
    total int := 0;
    d int;
    i int;
BEGIN
    IF npi !~ '^[0-9]{10}$' THEN
        RETURN false;
    END IF;
    digits := '80840' || substr(npi, 1, 9);
    -- Double every second digit from the right of the 14-digit payload.
    FOR i IN 1..14 LOOP
        d := substr(digits, 15 - i, 1)::int;
        IF i % 2 = 1 THEN
            d := d * 2;
            IF d > 9 THEN d := d - 9; END IF;
        END IF;
        total := total + d;
    END LOOP;
    RETURN (10 - total % 10) % 10 = substr(npi, 10, 1)::int;
END
$$;

-- ---------------------------------------------------------------------------
-- Reference data. Descriptions are our own short wording: CPT texts are
-- AMA-copyrighted and X12 restricts its code list texts.
-- ---------------------------------------------------------------------------

CREATE TABLE group_code (
    code text PRIMARY KEY CHECK (code ~ '^[A-Z]{2}$'),
    description text NOT NULL
);

CREATE TABLE carc (
    code text PRIMARY KEY CHECK (code ~ '^[A-Z]?[0-9]{1,3}$'),
    description text NOT NULL,
    -- Group codes this reason is normally reported with, so pickers offer
    -- only sensible pairs (e.g. 1/2/3 with PR, 45 with CO).
    group_codes text[] NOT NULL DEFAULT '{CO}',
    is_denial boolean NOT NULL DEFAULT false
);

CREATE TABLE rarc (
    code text PRIMARY KEY CHECK (code ~ '^(M|MA|N)[0-9]{1,3}$'),
    description text NOT NULL
);

CREATE TABLE pend_reason (
    code text PRIMARY KEY,
    description text NOT NULL,
    -- Days a pend normally waits before the claim returns to the queue.
    default_days int NOT NULL DEFAULT 14 CHECK (default_days BETWEEN 1 AND 90)
);

CREATE TABLE place_of_service (
    code text PRIMARY KEY CHECK (code ~ '^[0-9]{2}$'),
    description text NOT NULL
);

-- Benefit categories tie a procedure to the plan benefit that pays for it.
CREATE TABLE benefit_category (
    code text PRIMARY KEY,
    description text NOT NULL
);

CREATE TABLE cpt_code (
    code text PRIMARY KEY CHECK (code ~ '^[0-9]{4}[0-9A-Z]$'),
    short_description text NOT NULL,
    benefit_category text NOT NULL REFERENCES benefit_category,
    is_emergency boolean NOT NULL DEFAULT false,
    requires_prior_auth boolean NOT NULL DEFAULT false
);

CREATE TABLE icd10_code (
    code text PRIMARY KEY CHECK (code ~ '^[A-Z][0-9][0-9A-Z](\.[0-9A-Z]{1,4})?$'),
    short_description text NOT NULL,
    -- Conditions that make a claim urgent under the priority rules (issue 4).
    is_acute boolean NOT NULL DEFAULT false
);

-- NCCI procedure-to-procedure edits: column 2 is not paid with column 1 on
-- the same day unless a modifier is allowed (indicator 1) and present.
CREATE TABLE ncci_ptp (
    column1_code text NOT NULL REFERENCES cpt_code,
    column2_code text NOT NULL REFERENCES cpt_code,
    modifier_indicator text NOT NULL CHECK (modifier_indicator IN ('0', '1', '9')),
    effective_date date NOT NULL,
    deletion_date date,
    PRIMARY KEY (column1_code, column2_code, effective_date),
    CHECK (deletion_date IS NULL OR deletion_date > effective_date)
);

-- ---------------------------------------------------------------------------
-- Employers, plans and benefits
-- ---------------------------------------------------------------------------

-- Field-level encryption (seeds 000, 003): tax ids and SSNs exist only as
-- AES-256-GCM ciphertext (nonce || ciphertext || tag) with the key version
-- that sealed them, plus the last four digits for display. Keys live outside
-- the database (claimdesk-admin keys); desktop roles are never granted the
-- ciphertext columns.
CREATE TABLE employer_group (
    id uuid PRIMARY KEY,
    group_number text NOT NULL UNIQUE,
    name text NOT NULL,
    tax_id_ciphertext bytea,
    tax_id_key_version int,
    tax_id_last4 text CHECK (tax_id_last4 ~ '^[0-9]{4}$'),
    city text,
    state text CHECK (state ~ '^[A-Z]{2}$'),
    status text NOT NULL DEFAULT 'active' CHECK (status IN ('active', 'inactive', 'suspended')),
    created_at timestamptz NOT NULL DEFAULT now(),
    updated_at timestamptz NOT NULL DEFAULT now(),
    CHECK ((tax_id_ciphertext IS NULL) = (tax_id_key_version IS NULL))
);

CREATE TABLE plan (
    id uuid PRIMARY KEY,
    plan_code text NOT NULL UNIQUE,
    name text NOT NULL,
    plan_type text NOT NULL CHECK (plan_type IN ('HMO', 'PPO', 'EPO', 'POS', 'HDHP')),
    -- Prompt-pay deadlines differ by line of business (issue 4).
    line_of_business text NOT NULL DEFAULT 'commercial'
        CHECK (line_of_business IN ('commercial', 'medicare_advantage', 'medicaid', 'exchange')),
    deductible_individual numeric(12,2) NOT NULL CHECK (deductible_individual >= 0),
    deductible_family numeric(12,2) NOT NULL CHECK (deductible_family >= deductible_individual),
    oop_max_individual numeric(12,2) NOT NULL CHECK (oop_max_individual >= deductible_individual),
    oop_max_family numeric(12,2) NOT NULL CHECK (oop_max_family >= oop_max_individual),
    -- Member's coinsurance share after the deductible.
    coinsurance_in_network numeric(5,2) NOT NULL CHECK (coinsurance_in_network BETWEEN 0 AND 100),
    coinsurance_out_of_network numeric(5,2) NOT NULL CHECK (coinsurance_out_of_network BETWEEN 0 AND 100),
    out_of_network_covered boolean NOT NULL DEFAULT true,
    -- Plan year starts on this month (1 = calendar year).
    plan_year_start_month int NOT NULL DEFAULT 1 CHECK (plan_year_start_month BETWEEN 1 AND 12),
    effective_date date NOT NULL,
    termination_date date CHECK (termination_date IS NULL OR termination_date >= effective_date),
    created_at timestamptz NOT NULL DEFAULT now(),
    updated_at timestamptz NOT NULL DEFAULT now()
);

-- What the plan pays per benefit category (seed 004's plan_benefit).
CREATE TABLE plan_benefit (
    id uuid PRIMARY KEY,
    plan_id uuid NOT NULL REFERENCES plan ON DELETE CASCADE,
    benefit_category text NOT NULL REFERENCES benefit_category,
    copay_in_network numeric(12,2) NOT NULL DEFAULT 0 CHECK (copay_in_network >= 0),
    copay_out_of_network numeric(12,2) NOT NULL DEFAULT 0 CHECK (copay_out_of_network >= 0),
    -- A copay benefit (office visit) is usually not subject to the deductible.
    deductible_applies boolean NOT NULL DEFAULT true,
    covered_in_network boolean NOT NULL DEFAULT true,
    covered_out_of_network boolean NOT NULL DEFAULT true,
    requires_prior_auth boolean NOT NULL DEFAULT false,
    visit_limit int CHECK (visit_limit > 0),
    annual_limit numeric(12,2) CHECK (annual_limit > 0),
    created_at timestamptz NOT NULL DEFAULT now(),
    updated_at timestamptz NOT NULL DEFAULT now(),
    UNIQUE (plan_id, benefit_category)
);

-- ---------------------------------------------------------------------------
-- Members and coverage (PHI)
-- ---------------------------------------------------------------------------

CREATE TABLE member (
    id uuid PRIMARY KEY,
    member_number text NOT NULL UNIQUE,
    -- The subscriber; equal to id for the subscriber themself.
    subscriber_id uuid NOT NULL REFERENCES member DEFERRABLE INITIALLY DEFERRED,
    relationship text NOT NULL DEFAULT 'self'
        CHECK (relationship IN ('self', 'spouse', 'child', 'domestic_partner', 'other')),
    first_name text NOT NULL,
    middle_name text,
    last_name text NOT NULL,
    date_of_birth date NOT NULL,
    gender text NOT NULL CHECK (gender IN ('F', 'M', 'X', 'U')),
    ssn_ciphertext bytea,
    ssn_key_version int,
    ssn_last4 text CHECK (ssn_last4 ~ '^[0-9]{4}$'),
    address_line1 text,
    address_line2 text,
    city text,
    state text CHECK (state ~ '^[A-Z]{2}$'),
    postal_code text,
    phone text,
    employer_group_id uuid REFERENCES employer_group,
    status text NOT NULL DEFAULT 'active' CHECK (status IN ('active', 'inactive', 'suspended', 'deceased')),
    -- Restricted records (payer employees, VIPs, protected cases) are visible
    -- to supervisors only; enforced by row security.
    restricted boolean NOT NULL DEFAULT false,
    created_at timestamptz NOT NULL DEFAULT now(),
    updated_at timestamptz NOT NULL DEFAULT now(),
    CHECK ((ssn_ciphertext IS NULL) = (ssn_key_version IS NULL)),
    CHECK ((relationship = 'self') = (subscriber_id = id))
);
CREATE INDEX member_subscriber_idx ON member (subscriber_id);
CREATE INDEX member_name_idx ON member (lower(last_name), lower(first_name), date_of_birth);

-- A subscriber's enrolment in a plan (seed 000's policy).
CREATE TABLE policy (
    id uuid PRIMARY KEY,
    policy_number text NOT NULL UNIQUE,
    subscriber_id uuid NOT NULL REFERENCES member,
    plan_id uuid NOT NULL REFERENCES plan,
    employer_group_id uuid REFERENCES employer_group,
    coverage_level text NOT NULL
        CHECK (coverage_level IN ('individual', 'individual_spouse', 'individual_children', 'family')),
    created_at timestamptz NOT NULL DEFAULT now(),
    updated_at timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX policy_subscriber_idx ON policy (subscriber_id);

-- When each person is covered under a policy. Several periods per person
-- express gaps and re-enrolment; eligibility is decided from these rows.
CREATE TABLE coverage_period (
    id uuid PRIMARY KEY,
    policy_id uuid NOT NULL REFERENCES policy ON DELETE CASCADE,
    member_id uuid NOT NULL REFERENCES member,
    effective_date date NOT NULL,
    termination_date date CHECK (termination_date IS NULL OR termination_date >= effective_date),
    status text NOT NULL DEFAULT 'active' CHECK (status IN ('active', 'pending', 'suspended', 'terminated')),
    termination_reason text,
    created_at timestamptz NOT NULL DEFAULT now(),
    updated_at timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX coverage_period_member_idx ON coverage_period (member_id, effective_date DESC);

-- Deductible and out-of-pocket spent per person, policy and plan year.
-- Family totals are the sum over the policy's members (view below).
CREATE TABLE accumulator (
    id uuid PRIMARY KEY,
    member_id uuid NOT NULL REFERENCES member,
    policy_id uuid NOT NULL REFERENCES policy,
    plan_year int NOT NULL CHECK (plan_year BETWEEN 2000 AND 2100),
    deductible_met numeric(12,2) NOT NULL DEFAULT 0 CHECK (deductible_met >= 0),
    oop_met numeric(12,2) NOT NULL DEFAULT 0 CHECK (oop_met >= 0),
    created_at timestamptz NOT NULL DEFAULT now(),
    updated_at timestamptz NOT NULL DEFAULT now(),
    UNIQUE (member_id, policy_id, plan_year)
);

CREATE VIEW family_accumulator AS
SELECT policy_id, plan_year,
       sum(deductible_met)::numeric(12,2) AS deductible_met,
       sum(oop_met)::numeric(12,2) AS oop_met
FROM accumulator
GROUP BY policy_id, plan_year;

-- Eligibility on a date of service, with the reason (seed 004's
-- check_eligibility, extended: gaps, not-yet-effective and pending coverage
-- are told apart because each leads to a different denial code).
CREATE FUNCTION check_eligibility(p_member_id uuid, p_service_date date)
RETURNS TABLE (
    is_eligible boolean,
    reason text,
    explanation text,
    policy_id uuid,
    plan_id uuid,
    coverage_period_id uuid
)
LANGUAGE plpgsql STABLE SET search_path = claimdesk, pg_catalog AS $$
DECLARE
    m record;
    cp record;
    first_start date;
    last_end date;
BEGIN
    SELECT status INTO m FROM member WHERE id = p_member_id;
    IF NOT FOUND THEN
        RETURN QUERY SELECT false, 'member_not_found', 'No member with this id.', NULL::uuid, NULL::uuid, NULL::uuid;
        RETURN;
    END IF;
    IF m.status = 'deceased' THEN
        RETURN QUERY SELECT false, 'member_deceased', 'The member is recorded as deceased.', NULL::uuid, NULL::uuid, NULL::uuid;
        RETURN;
    END IF;

    SELECT c.id, c.policy_id, p.plan_id, c.status INTO cp
    FROM coverage_period c JOIN policy p ON p.id = c.policy_id
    WHERE c.member_id = p_member_id
      AND p_service_date >= c.effective_date
      AND (c.termination_date IS NULL OR p_service_date <= c.termination_date)
    ORDER BY (c.status = 'active') DESC, c.effective_date DESC
    LIMIT 1;

    IF FOUND THEN
        IF cp.status = 'active' AND m.status = 'active' THEN
            RETURN QUERY SELECT true, 'eligible', 'Covered on the date of service.', cp.policy_id, cp.plan_id, cp.id;
        ELSIF m.status <> 'active' THEN
            RETURN QUERY SELECT false, 'member_not_active', format('The member is %s.', m.status), cp.policy_id, cp.plan_id, cp.id;
        ELSE
            RETURN QUERY SELECT false, 'coverage_not_active', format('Coverage on that date is %s.', cp.status), cp.policy_id, cp.plan_id, cp.id;
        END IF;
        RETURN;
    END IF;

    SELECT min(effective_date), max(coalesce(termination_date, 'infinity'::date))
    INTO first_start, last_end
    FROM coverage_period WHERE member_id = p_member_id;

    IF first_start IS NULL THEN
        RETURN QUERY SELECT false, 'no_coverage', 'The member has no coverage on record.', NULL::uuid, NULL::uuid, NULL::uuid;
    ELSIF p_service_date < first_start THEN
        RETURN QUERY SELECT false, 'coverage_not_yet_effective',
            format('Coverage starts on %s, after the date of service.', first_start), NULL::uuid, NULL::uuid, NULL::uuid;
    ELSIF p_service_date > last_end THEN
        RETURN QUERY SELECT false, 'coverage_terminated',
            format('Coverage ended on %s, before the date of service.', last_end), NULL::uuid, NULL::uuid, NULL::uuid;
    ELSE
        RETURN QUERY SELECT false, 'coverage_gap',
            'The date of service falls in a gap between coverage periods.', NULL::uuid, NULL::uuid, NULL::uuid;
    END IF;
END
$$;

-- ---------------------------------------------------------------------------
-- Providers, credentials, contracts
-- ---------------------------------------------------------------------------

CREATE TABLE provider (
    id uuid PRIMARY KEY,
    npi text NOT NULL UNIQUE CONSTRAINT provider_npi_valid CHECK (npi_is_valid(npi)),
    -- NPPES enumeration types: NPI-1 individual, NPI-2 organization.
    entity_type text NOT NULL CHECK (entity_type IN ('individual', 'organization')),
    first_name text,
    last_name text,
    organization_name text,
    credential_suffix text,
    taxonomy_code text CHECK (taxonomy_code ~ '^[0-9]{3}[0-9A-Z]{6}X$'),
    specialty text,
    tax_id_ciphertext bytea,
    tax_id_key_version int,
    tax_id_last4 text CHECK (tax_id_last4 ~ '^[0-9]{4}$'),
    address_line1 text,
    city text,
    state text CHECK (state ~ '^[A-Z]{2}$'),
    postal_code text,
    phone text,
    network_status text NOT NULL DEFAULT 'pending'
        CHECK (network_status IN ('in_network', 'out_of_network', 'pending')),
    status text NOT NULL DEFAULT 'active' CHECK (status IN ('active', 'inactive', 'suspended')),
    -- Exclusion (OIG LEIE, SAM, state Medicaid lists): never pay while set.
    excluded boolean NOT NULL DEFAULT false,
    exclusion_source text CHECK (exclusion_source IN ('oig_leie', 'sam', 'state_medicaid')),
    exclusion_date date,
    exclusion_checked_at timestamptz,
    recredential_due date,
    created_at timestamptz NOT NULL DEFAULT now(),
    updated_at timestamptz NOT NULL DEFAULT now(),
    CHECK (entity_type = 'organization' OR (first_name IS NOT NULL AND last_name IS NOT NULL)),
    CHECK (entity_type = 'individual' OR organization_name IS NOT NULL),
    CHECK (NOT excluded OR (exclusion_source IS NOT NULL AND exclusion_date IS NOT NULL)),
    CHECK ((tax_id_ciphertext IS NULL) = (tax_id_key_version IS NULL))
);
CREATE INDEX provider_name_idx ON provider (lower(coalesce(organization_name, last_name)));
CREATE INDEX provider_location_idx ON provider (state, city);

CREATE TABLE provider_credential (
    id uuid PRIMARY KEY,
    provider_id uuid NOT NULL REFERENCES provider ON DELETE CASCADE,
    credential_type text NOT NULL CHECK (credential_type IN
        ('medical_license', 'board_certification', 'dea', 'malpractice_insurance', 'hospital_privileges')),
    credential_number text,
    issuing_authority text,
    state text CHECK (state ~ '^[A-Z]{2}$'),
    issue_date date,
    expiration_date date CHECK (expiration_date IS NULL OR issue_date IS NULL OR expiration_date >= issue_date),
    status text NOT NULL DEFAULT 'pending' CHECK (status IN ('verified', 'pending', 'expired', 'revoked')),
    -- The latest primary-source verification; the history is in credential_verification.
    verification_source text,
    verified_by text,
    verified_at timestamptz,
    notes text,
    created_at timestamptz NOT NULL DEFAULT now(),
    updated_at timestamptz NOT NULL DEFAULT now(),
    CHECK (status <> 'verified' OR (verification_source IS NOT NULL AND verified_by IS NOT NULL AND verified_at IS NOT NULL))
);
CREATE INDEX provider_credential_provider_idx ON provider_credential (provider_id);
CREATE INDEX provider_credential_expiry_idx ON provider_credential (expiration_date) WHERE status <> 'revoked';

-- Every primary-source check, as NCQA expects to see it: who, when, source, result.
CREATE TABLE credential_verification (
    id uuid PRIMARY KEY,
    credential_id uuid NOT NULL REFERENCES provider_credential ON DELETE CASCADE,
    source text NOT NULL,
    result text NOT NULL CHECK (result IN ('verified', 'discrepancy', 'not_found', 'expired', 'revoked')),
    verified_by text NOT NULL,
    verified_at timestamptz NOT NULL,
    notes text,
    created_at timestamptz NOT NULL DEFAULT now(),
    updated_at timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX credential_verification_credential_idx ON credential_verification (credential_id, verified_at DESC);

CREATE TABLE contract (
    id uuid PRIMARY KEY,
    contract_number text NOT NULL UNIQUE,
    provider_id uuid NOT NULL REFERENCES provider,
    contract_type text NOT NULL CHECK (contract_type IN ('individual', 'group', 'facility')),
    reimbursement_method text NOT NULL DEFAULT 'fee_for_service'
        CHECK (reimbursement_method IN ('fee_for_service', 'capitation', 'bundled', 'value_based')),
    effective_date date NOT NULL,
    termination_date date CHECK (termination_date IS NULL OR termination_date >= effective_date),
    status text NOT NULL DEFAULT 'draft' CHECK (status IN ('draft', 'active', 'expired', 'terminated')),
    created_at timestamptz NOT NULL DEFAULT now(),
    updated_at timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX contract_provider_idx ON contract (provider_id);

-- Allowed amount per CPT code and modifier, with effective dates. An empty
-- modifier is the base rate; rows may not overlap in time.
CREATE TABLE fee_schedule (
    id uuid PRIMARY KEY,
    contract_id uuid NOT NULL REFERENCES contract ON DELETE CASCADE,
    cpt_code text NOT NULL REFERENCES cpt_code,
    modifier text NOT NULL DEFAULT '' CHECK (modifier ~ '^([0-9A-Z]{2})?$'),
    allowed_amount numeric(12,2) NOT NULL CHECK (allowed_amount >= 0),
    effective_date date NOT NULL,
    termination_date date CHECK (termination_date IS NULL OR termination_date >= effective_date),
    created_at timestamptz NOT NULL DEFAULT now(),
    updated_at timestamptz NOT NULL DEFAULT now(),
    UNIQUE (contract_id, cpt_code, modifier, effective_date)
);

-- ---------------------------------------------------------------------------
-- Claims
-- ---------------------------------------------------------------------------

-- Claim numbers CLM-YYYYMMDD-NNNNNN (seed 001's daily format, seed 004's
-- zero padding). Seed 004 computes MAX()+1, which hands the same number to two
-- concurrent transactions; a counter row per day, incremented with an upsert,
-- serialises them on that row instead.
CREATE TABLE claim_number_counter (
    day date PRIMARY KEY,
    last_value int NOT NULL CHECK (last_value BETWEEN 1 AND 999999)
);

CREATE FUNCTION next_claim_number(p_received date) RETURNS text
LANGUAGE sql VOLATILE SET search_path = claimdesk, pg_catalog AS $$
    INSERT INTO claim_number_counter AS c (day, last_value) VALUES (p_received, 1)
    ON CONFLICT (day) DO UPDATE SET last_value = c.last_value + 1
    RETURNING 'CLM-' || to_char(day, 'YYYYMMDD') || '-' || lpad(last_value::text, 6, '0');
$$;

CREATE TABLE claim (
    id uuid PRIMARY KEY,
    claim_number text NOT NULL UNIQUE CHECK (claim_number ~ '^CLM-[0-9]{8}-[0-9]{6}$'),
    -- X12 837P professional, 837I institutional; dental and pharmacy as in seed 000.
    claim_type text NOT NULL CHECK (claim_type IN ('professional', 'institutional', 'dental', 'pharmacy')),
    member_id uuid NOT NULL REFERENCES member,
    policy_id uuid REFERENCES policy,
    provider_id uuid NOT NULL REFERENCES provider,
    -- Provider's own reference (CLM01) and frequency (1 original, 7 replacement, 8 void).
    patient_account_number text,
    frequency_code text NOT NULL DEFAULT '1' CHECK (frequency_code IN ('1', '7', '8')),
    place_of_service text REFERENCES place_of_service,
    prior_auth_number text,
    service_from date NOT NULL,
    service_to date NOT NULL CHECK (service_to >= service_from),
    received_at timestamptz NOT NULL,
    status text NOT NULL DEFAULT 'received' CHECK (status IN
        ('received', 'in_review', 'pended', 'approved', 'partially_approved', 'denied', 'paid', 'appealed', 'void')),
    -- Seed 001's urgent/standard/routine map onto urgent/normal/low; high sits between.
    priority text NOT NULL DEFAULT 'normal' CHECK (priority IN ('urgent', 'high', 'normal', 'low')),
    priority_rank smallint GENERATED ALWAYS AS (
        CASE priority WHEN 'urgent' THEN 1 WHEN 'high' THEN 2 WHEN 'normal' THEN 3 ELSE 4 END) STORED,
    -- The rules that set the priority, and how sure they were (issue 4).
    priority_reasons jsonb NOT NULL DEFAULT '[]' CHECK (jsonb_typeof(priority_reasons) = 'array'),
    priority_confidence numeric(3,2) CHECK (priority_confidence BETWEEN 0 AND 1),
    prompt_pay_due date NOT NULL,
    total_billed numeric(12,2) NOT NULL CHECK (total_billed >= 0),
    total_allowed numeric(12,2) CHECK (total_allowed >= 0),
    total_paid numeric(12,2) CHECK (total_paid >= 0),
    member_responsibility numeric(12,2) CHECK (member_responsibility >= 0),
    -- Assignment lease (issue 4): who works the claim and until when.
    lease_holder text,
    lease_expires_at timestamptz,
    -- Optimistic concurrency: every decision names the version it saw.
    version int NOT NULL DEFAULT 1 CHECK (version >= 1),
    manual_review boolean NOT NULL DEFAULT false,
    suspected_duplicate_of uuid REFERENCES claim,
    -- Seed 003's risk flag: type and severity.
    risk_type text CHECK (risk_type IN ('medical', 'financial', 'compliance', 'safety', 'other')),
    risk_severity text CHECK (risk_severity IN ('low', 'medium', 'high', 'critical')),
    restricted boolean NOT NULL DEFAULT false,
    pend_reason text REFERENCES pend_reason,
    pend_until date,
    -- Denial data (seed 001): a denial carries a code and a human explanation.
    denial_group_code text REFERENCES group_code,
    denial_carc text REFERENCES carc,
    denial_explanation text,
    -- Who decided and when; set by the decision function from the session.
    adjudicated_by text,
    adjudicated_at timestamptz,
    adjudication_notes text,
    -- Claims above the adjudicator's authority wait for a supervisor (issue 9).
    requires_approval boolean NOT NULL DEFAULT false,
    approved_by text,
    approved_at timestamptz,
    created_at timestamptz NOT NULL DEFAULT now(),
    updated_at timestamptz NOT NULL DEFAULT now(),
    CONSTRAINT claim_lease_consistent CHECK ((lease_holder IS NULL) = (lease_expires_at IS NULL)),
    CONSTRAINT claim_risk_consistent CHECK ((risk_type IS NULL) = (risk_severity IS NULL)),
    -- Seed 001's decision rules, enforced here whatever the client does.
    CONSTRAINT claim_paid_within_billed CHECK (total_paid IS NULL OR total_paid <= total_billed),
    CONSTRAINT claim_allowed_within_billed CHECK (total_allowed IS NULL OR total_allowed <= total_billed),
    CONSTRAINT claim_denial_explained CHECK (status <> 'denied'
        OR (denial_carc IS NOT NULL AND denial_group_code IS NOT NULL
            AND length(btrim(coalesce(denial_explanation, ''))) > 0)),
    CONSTRAINT claim_decision_attributed CHECK (status NOT IN ('approved', 'partially_approved', 'denied', 'paid')
        OR (adjudicated_by IS NOT NULL AND adjudicated_at IS NOT NULL)),
    CONSTRAINT claim_pend_has_reason CHECK (status <> 'pended' OR pend_reason IS NOT NULL)
);
CREATE INDEX claim_member_idx ON claim (member_id, service_from DESC);
CREATE INDEX claim_provider_idx ON claim (provider_id, service_from DESC);
CREATE INDEX claim_status_idx ON claim (status);
-- The queue: open, unleased claims in queue order. Leased claims leave this
-- index, so checkouts do not walk over them (measured: see the notes).
CREATE INDEX claim_queue_idx ON claim (priority_rank, prompt_pay_due, received_at, id)
    WHERE status IN ('received', 'in_review', 'appealed') AND lease_holder IS NULL;
-- Expired leases return to the queue without a purge job: checkout also
-- looks here.
CREATE INDEX claim_lease_expiry_idx ON claim (lease_expires_at) WHERE lease_holder IS NOT NULL;
CREATE INDEX claim_duplicate_probe_idx ON claim (member_id, provider_id, service_from, total_billed);

CREATE TABLE claim_diagnosis (
    id uuid PRIMARY KEY,
    claim_id uuid NOT NULL REFERENCES claim ON DELETE CASCADE,
    -- 837 allows up to 12 diagnoses, pointed at as 1..12 by the lines.
    sequence smallint NOT NULL CHECK (sequence BETWEEN 1 AND 12),
    icd10_code text NOT NULL REFERENCES icd10_code,
    created_at timestamptz NOT NULL DEFAULT now(),
    updated_at timestamptz NOT NULL DEFAULT now(),
    UNIQUE (claim_id, sequence)
);

CREATE TABLE claim_line (
    id uuid PRIMARY KEY,
    claim_id uuid NOT NULL REFERENCES claim ON DELETE CASCADE,
    line_number smallint NOT NULL CHECK (line_number BETWEEN 1 AND 50),
    service_date date NOT NULL,
    cpt_code text NOT NULL REFERENCES cpt_code,
    modifiers text[] NOT NULL DEFAULT '{}' CHECK (cardinality(modifiers) <= 4),
    diagnosis_pointers smallint[] NOT NULL CHECK (cardinality(diagnosis_pointers) BETWEEN 1 AND 4),
    units numeric(7,2) NOT NULL DEFAULT 1 CHECK (units > 0),
    place_of_service text REFERENCES place_of_service,
    billed numeric(12,2) NOT NULL CHECK (billed >= 0),
    allowed numeric(12,2) CHECK (allowed >= 0),
    deductible numeric(12,2) CHECK (deductible >= 0),
    copay numeric(12,2) CHECK (copay >= 0),
    coinsurance numeric(12,2) CHECK (coinsurance >= 0),
    paid numeric(12,2) CHECK (paid >= 0),
    group_code text REFERENCES group_code,
    carc text REFERENCES carc,
    rarc text[] NOT NULL DEFAULT '{}',
    created_at timestamptz NOT NULL DEFAULT now(),
    updated_at timestamptz NOT NULL DEFAULT now(),
    UNIQUE (claim_id, line_number),
    CONSTRAINT claim_line_paid_within_billed CHECK (paid IS NULL OR paid <= billed),
    CONSTRAINT claim_line_allowed_within_billed CHECK (allowed IS NULL OR allowed <= billed)
);

-- Internal notes: PHI, visible to payer staff only, never to the provider.
CREATE TABLE claim_note (
    id uuid PRIMARY KEY,
    claim_id uuid NOT NULL REFERENCES claim ON DELETE CASCADE,
    author text NOT NULL DEFAULT session_user,
    body text NOT NULL CHECK (length(btrim(body)) > 0),
    created_at timestamptz NOT NULL DEFAULT now(),
    updated_at timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX claim_note_claim_idx ON claim_note (claim_id, created_at);

-- Status history (seeds 002 and 004), written by trigger on every change.
CREATE TABLE claim_status_history (
    id uuid PRIMARY KEY,
    claim_id uuid NOT NULL REFERENCES claim ON DELETE CASCADE,
    from_status text,
    to_status text NOT NULL,
    changed_by text NOT NULL DEFAULT session_user,
    changed_at timestamptz NOT NULL DEFAULT now(),
    reason text,
    created_at timestamptz NOT NULL DEFAULT now(),
    updated_at timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX claim_status_history_claim_idx ON claim_status_history (claim_id, changed_at);

CREATE FUNCTION record_claim_status() RETURNS trigger
LANGUAGE plpgsql SET search_path = claimdesk, pg_catalog AS $$
BEGIN
    IF TG_OP = 'INSERT' OR NEW.status IS DISTINCT FROM OLD.status THEN
        INSERT INTO claim_status_history (id, claim_id, from_status, to_status, reason)
        VALUES (gen_random_uuid(), NEW.id, CASE WHEN TG_OP = 'UPDATE' THEN OLD.status END, NEW.status,
                nullif(current_setting('claimdesk.status_reason', true), ''));
    END IF;
    RETURN NULL;
END
$$;
CREATE TRIGGER claim_status_history_trg AFTER INSERT OR UPDATE OF status ON claim
    FOR EACH ROW EXECUTE FUNCTION record_claim_status();

-- Appeals (seeds 000 and 002), with levels and due dates.
CREATE TABLE appeal (
    id uuid PRIMARY KEY,
    appeal_number text NOT NULL UNIQUE,
    claim_id uuid NOT NULL REFERENCES claim,
    level text NOT NULL DEFAULT 'first' CHECK (level IN ('first', 'second', 'external')),
    reason text NOT NULL CHECK (length(btrim(reason)) > 0),
    requested_amount numeric(12,2) CHECK (requested_amount >= 0),
    status text NOT NULL DEFAULT 'submitted' CHECK (status IN
        ('submitted', 'under_review', 'upheld', 'overturned', 'partially_overturned', 'withdrawn')),
    submitted_at timestamptz NOT NULL,
    due_at timestamptz NOT NULL,
    decided_at timestamptz,
    decided_by text,
    decision_reason text,
    created_at timestamptz NOT NULL DEFAULT now(),
    updated_at timestamptz NOT NULL DEFAULT now(),
    CHECK (status IN ('submitted', 'under_review', 'withdrawn')
        OR (decided_at IS NOT NULL AND decided_by IS NOT NULL AND decision_reason IS NOT NULL))
);
CREATE INDEX appeal_claim_idx ON appeal (claim_id);

-- ---------------------------------------------------------------------------
-- Documents: metadata per claim, content addressed by SHA-256
-- ---------------------------------------------------------------------------

CREATE TABLE document_content (
    sha256 bytea PRIMARY KEY CHECK (length(sha256) = 32),
    content bytea NOT NULL,
    size_bytes bigint GENERATED ALWAYS AS (length(content)) STORED,
    created_at timestamptz NOT NULL DEFAULT now(),
    -- The address must be the content's hash; a mismatch is refused here,
    -- not discovered later by a client.
    CONSTRAINT document_content_addressed CHECK (sha256 = sha256(content))
);

CREATE TABLE document (
    id uuid PRIMARY KEY,
    claim_id uuid NOT NULL REFERENCES claim ON DELETE CASCADE,
    document_type text NOT NULL CHECK (document_type IN
        ('cms1500', 'ub04', 'eob', 'medical_record', 'prior_authorization', 'correspondence', 'other')),
    file_name text NOT NULL,
    mime_type text NOT NULL CHECK (mime_type IN ('application/pdf', 'image/tiff', 'image/png', 'image/jpeg')),
    size_bytes bigint NOT NULL CHECK (size_bytes > 0),
    sha256 bytea NOT NULL REFERENCES document_content,
    page_count int CHECK (page_count > 0),
    ocr_text text,
    ocr_confidence numeric(5,2) CHECK (ocr_confidence BETWEEN 0 AND 100),
    uploaded_by text NOT NULL DEFAULT session_user,
    uploaded_at timestamptz NOT NULL DEFAULT now(),
    created_at timestamptz NOT NULL DEFAULT now(),
    updated_at timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX document_claim_idx ON document (claim_id);

-- updated_at on every table that has one.
DO $$
DECLARE t text;
BEGIN
    FOR t IN
        SELECT c.table_name FROM information_schema.columns c
        JOIN information_schema.tables tb USING (table_schema, table_name)
        WHERE c.table_schema = 'claimdesk' AND c.column_name = 'updated_at' AND tb.table_type = 'BASE TABLE'
    LOOP
        EXECUTE format('CREATE TRIGGER touch_updated_at BEFORE UPDATE ON claimdesk.%I
                        FOR EACH ROW EXECUTE FUNCTION claimdesk.touch_updated_at()', t);
    END LOOP;
END
$$;
