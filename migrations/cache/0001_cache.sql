-- The local cache (SQLite), one file per user and server.
--
-- Plaintext columns are limited to UUIDs, status, priority, queue dates
-- (received, prompt-pay due), amounts and sync bookkeeping. Everything else,
-- PHI and identifiers included (names, dates of birth, member ids, claim
-- numbers, diagnoses, notes, document content), lives only inside `sealed`:
-- an AES-256-GCM envelope (crate claimdesk-local, module crypto) whose
-- associated data names the table and row. Amounts are TEXT decimals, never
-- REAL. UUIDs are 16-byte BLOBs.

-- Format version, the key check, which server and login the file belongs to.
CREATE TABLE cache_meta (
    key TEXT PRIMARY KEY,
    value BLOB NOT NULL
) STRICT;

-- Where each pull stands in central's change feed. Written in the same
-- transaction as the rows of the batch it describes.
CREATE TABLE sync_cursor (
    source TEXT PRIMARY KEY,
    xid INTEGER NOT NULL,
    id BLOB NOT NULL,
    synced_at TEXT NOT NULL
) STRICT;

-- A first sync under way: the watermark it started at and the queue
-- position it reached, so a restart continues instead of starting over.
CREATE TABLE snapshot_progress (
    source TEXT PRIMARY KEY,
    watermark INTEGER NOT NULL,
    priority_rank INTEGER NOT NULL,
    prompt_pay_due TEXT NOT NULL,
    received_at TEXT NOT NULL,
    id BLOB NOT NULL,
    applied INTEGER NOT NULL
) STRICT;

-- The head of the open queue as this user may see it (up to a configured
-- number of claims, 100,000 by default): one row per claim.
CREATE TABLE queue_claim (
    id BLOB PRIMARY KEY,
    claim_type TEXT NOT NULL,
    status TEXT NOT NULL,
    priority TEXT NOT NULL,
    priority_rank INTEGER NOT NULL,
    prompt_pay_due TEXT NOT NULL,
    received_at TEXT NOT NULL,
    total_billed TEXT NOT NULL,
    version INTEGER NOT NULL,
    duplicate_suspect INTEGER NOT NULL,
    risk_severity TEXT,
    provider_id BLOB NOT NULL,
    member_id BLOB NOT NULL,
    change_xid INTEGER NOT NULL,
    key_id INTEGER NOT NULL,
    -- claim number, patient account, member name, service dates, priority reasons
    sealed BLOB NOT NULL
) STRICT;
CREATE INDEX queue_claim_order_idx ON queue_claim (priority_rank, prompt_pay_due, received_at, id);
CREATE INDEX queue_claim_key_idx ON queue_claim (key_id);

-- Claims opened on this computer (the person's leased claims, mostly), in
-- full: the claim, its lines, diagnoses, notes, status history and member,
-- all sealed. Kept so they open offline.
CREATE TABLE claim_detail (
    id BLOB PRIMARY KEY,
    version INTEGER NOT NULL,
    member_id BLOB NOT NULL,
    fetched_at TEXT NOT NULL,
    key_id INTEGER NOT NULL,
    sealed BLOB NOT NULL
) STRICT;

-- Reference records the login may read (plans, providers, credentials,
-- contracts, fee schedules), one row per central row, sealed whole. The
-- AAD names the central table, so a record cannot pass for another's.
CREATE TABLE reference_record (
    table_name TEXT NOT NULL,
    id BLOB NOT NULL,
    change_xid INTEGER NOT NULL,
    key_id INTEGER NOT NULL,
    sealed BLOB NOT NULL,
    PRIMARY KEY (table_name, id)
) STRICT;
CREATE INDEX reference_record_key_idx ON reference_record (key_id);

-- Mutations made here that central has not confirmed yet. Each is written
-- in the same transaction as its local effect and carries its idempotency
-- key (a UUIDv7, so ids sort by creation) to central.
CREATE TABLE outbox (
    id BLOB PRIMARY KEY,
    kind TEXT NOT NULL,
    claim_id BLOB,
    created_at TEXT NOT NULL,
    -- pending: to send; conflict: central refused it for a reason the person
    -- must see (stale version, lost lease); never silently dropped.
    state TEXT NOT NULL CHECK (state IN ('pending', 'conflict')),
    attempts INTEGER NOT NULL DEFAULT 0,
    next_attempt_at TEXT NOT NULL,
    last_error TEXT,
    key_id INTEGER NOT NULL,
    sealed BLOB NOT NULL
) STRICT;
CREATE INDEX outbox_due_idx ON outbox (state, next_attempt_at);
CREATE INDEX outbox_claim_idx ON outbox (claim_id);
