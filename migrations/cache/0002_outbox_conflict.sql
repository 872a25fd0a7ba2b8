-- Central's side of a conflict. When central refuses a queued mutation (the
-- claim moved on, the lease was lost), its current record of the claim is
-- fetched at once and kept here beside the refused entry, so the person sees
-- both versions side by side, offline too, until they deal with it. Sealed
-- like claim_detail (the record is PHI); the AAD names this table and the
-- outbox entry's id.
CREATE TABLE outbox_conflict (
    id BLOB PRIMARY KEY REFERENCES outbox (id) ON DELETE CASCADE,
    version INTEGER NOT NULL,
    fetched_at TEXT NOT NULL,
    key_id INTEGER NOT NULL,
    sealed BLOB NOT NULL
) STRICT;
CREATE INDEX outbox_conflict_key_idx ON outbox_conflict (key_id);
