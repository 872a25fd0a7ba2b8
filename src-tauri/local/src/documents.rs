//! Document files in the encrypted cache: stored after a SHA-256 check
//! against central's content address, sealed per file, opened with the
//! same check (a file altered on disk does not open), and evicted least
//! recently used first once the files pass a size cap.

use chrono::{DateTime, Utc};
use sha2::{Digest, Sha256};
use uuid::Uuid;

use crate::cache::{Cache, CacheError};

const TABLE: &str = "document_blob";

/// Why a document file could not be stored or opened.
#[derive(Debug, thiserror::Error)]
pub enum DocumentError {
    /// The bytes do not hash to the address they came with.
    #[error("the document's content does not match its SHA-256")]
    HashMismatch,
    /// The cache failed.
    #[error(transparent)]
    Cache(#[from] CacheError),
}

fn sha256(bytes: &[u8]) -> [u8; 32] {
    Sha256::digest(bytes).into()
}

/// Stores document `id`'s file, refusing bytes that do not hash to
/// `expected` (central's address for it). Replaces an earlier copy.
pub async fn store(
    cache: &Cache,
    id: Uuid,
    expected: [u8; 32],
    bytes: &[u8],
    now: DateTime<Utc>,
) -> Result<(), DocumentError> {
    if sha256(bytes) != expected {
        return Err(DocumentError::HashMismatch);
    }
    let key = cache.sealing_key().await;
    let sealed = key.seal(TABLE, id, bytes);
    sqlx::query(
        "INSERT INTO document_blob (id, sha256, size, fetched_at, used_at, key_id, sealed)
         VALUES (?, ?, ?, ?, ?, ?, ?)
         ON CONFLICT (id) DO UPDATE SET sha256 = excluded.sha256, size = excluded.size,
             fetched_at = excluded.fetched_at, used_at = excluded.used_at,
             key_id = excluded.key_id, sealed = excluded.sealed",
    )
    .bind(id.as_bytes().as_slice())
    .bind(expected.as_slice())
    .bind(i64::try_from(bytes.len()).unwrap_or(i64::MAX))
    .bind(now.to_rfc3339())
    .bind(now.to_rfc3339())
    .bind(key.id().0)
    .bind(sealed)
    .execute(cache.db())
    .await
    .map_err(CacheError::from)?;
    Ok(())
}

/// Document `id`'s file if this computer has it, marked as used at `now`.
/// A copy that no longer hashes to its address is an error, not a file.
pub async fn open(
    cache: &Cache,
    id: Uuid,
    now: DateTime<Utc>,
) -> Result<Option<zeroize::Zeroizing<Vec<u8>>>, DocumentError> {
    let row: Option<(Vec<u8>, Vec<u8>)> =
        sqlx::query_as("SELECT sha256, sealed FROM document_blob WHERE id = ?")
            .bind(id.as_bytes().as_slice())
            .fetch_optional(cache.db())
            .await
            .map_err(CacheError::from)?;
    let Some((expected, sealed)) = row else {
        return Ok(None);
    };
    let plain = zeroize::Zeroizing::new(
        cache
            .key_for(&sealed)
            .map_err(CacheError::from)?
            .open(TABLE, id, &sealed)
            .map_err(CacheError::from)?,
    );
    if sha256(&plain).as_slice() != expected.as_slice() {
        return Err(DocumentError::HashMismatch);
    }
    sqlx::query("UPDATE document_blob SET used_at = ? WHERE id = ?")
        .bind(now.to_rfc3339())
        .bind(id.as_bytes().as_slice())
        .execute(cache.db())
        .await
        .map_err(CacheError::from)?;
    Ok(Some(plain))
}

/// Bytes of document files stored.
pub async fn stored_bytes(cache: &Cache) -> Result<u64, CacheError> {
    let total: i64 = sqlx::query_scalar("SELECT coalesce(sum(size), 0) FROM document_blob")
        .fetch_one(cache.db())
        .await?;
    Ok(u64::try_from(total).unwrap_or(0))
}

/// Evicts the least recently used files until the rest fit in `cap`
/// bytes; returns how many files went.
pub async fn evict_to(cache: &Cache, cap: u64) -> Result<u64, CacheError> {
    let cap = i64::try_from(cap).unwrap_or(i64::MAX);
    // Newest first, a running total; everything past the cap goes.
    let gone = sqlx::query(
        "DELETE FROM document_blob WHERE id IN (
             SELECT id FROM (
                 SELECT id, sum(size) OVER (ORDER BY used_at DESC, id) AS running
                 FROM document_blob)
             WHERE running > ?)",
    )
    .bind(cap)
    .execute(cache.db())
    .await?;
    Ok(gone.rows_affected())
}
