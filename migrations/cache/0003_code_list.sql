-- The code lists decisions are made with (group codes, CARCs, RARCs, pend
-- reasons), copied from central so the decision panel's pickers work
-- offline. Public code lists, no PHI: plaintext. Replaced whole on refresh.
CREATE TABLE code_list (
    kind TEXT NOT NULL CHECK (kind IN ('group_code', 'carc', 'rarc', 'pend_reason')),
    code TEXT NOT NULL,
    description TEXT NOT NULL,
    -- carc: the group codes it is reported with, comma-separated;
    -- pend_reason: default days.
    extra TEXT,
    -- carc: a denial reason (offered when denying).
    is_denial INTEGER NOT NULL DEFAULT 0,
    PRIMARY KEY (kind, code)
) STRICT;
