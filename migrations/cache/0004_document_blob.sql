-- Document files (claim forms, EOBs, records) kept on this computer so they
-- open offline. Each file is sealed whole under the cache's data key
-- (AES-256-GCM; the AAD binds it to its document id), checked against
-- central's SHA-256 when stored and again when opened. Kept up to a size
-- cap: the least recently opened go first.
CREATE TABLE document_blob (
    id BLOB PRIMARY KEY,
    -- central's content address; a file that does not hash to it is refused
    sha256 BLOB NOT NULL CHECK (length(sha256) = 32),
    -- plaintext bytes, counted against the cap
    size INTEGER NOT NULL CHECK (size >= 0),
    fetched_at TEXT NOT NULL,
    used_at TEXT NOT NULL,
    key_id INTEGER NOT NULL,
    sealed BLOB NOT NULL
) STRICT;
CREATE INDEX document_blob_used_idx ON document_blob (used_at);
CREATE INDEX document_blob_key_idx ON document_blob (key_id);
