-- Intake keeps a row in intake_claim only for the claims the 277CA rejects
-- (issue 20). A claim taken is the claim itself, linked to its set by
-- claim.intake_set_id with its patient account, charge and frequency; a
-- second row per claim taken cost an insert, two indexes and two foreign
-- key checks for nothing the batch view needs (about a tenth of the write).
-- Rows written for taken claims before this migration stay: they are
-- consistent (claim_id set, category A2), and the batch view reads the
-- rejected ones only.
SET LOCAL search_path = claimdesk, public, pg_catalog;

COMMENT ON TABLE intake_claim IS
    'Claims of accepted sets that the 277CA rejected, with the status category, code and reason (taken claims are claim rows with intake_set_id).';
