//! The encrypted local cache: one SQLite file per user and server, in WAL
//! mode, with its own migrations (`migrations/cache`).
//!
//! Opening checks, in order, that the file is SQLite, that it belongs to this
//! user and server, and that the keychain's key opens its key check. When one
//! fails the file is wiped and rebuilt from central, and the caller learns
//! why ([`Opened::Rebuilt`]); nothing is half-read.

use std::path::{Path, PathBuf};
use std::str::FromStr;
use std::sync::{Arc, RwLock};

use chrono::{DateTime, NaiveDate, Utc};
use rust_decimal::Decimal;
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};
use sqlx::sqlite::{SqliteConnectOptions, SqliteJournalMode, SqlitePoolOptions, SqliteSynchronous};
use sqlx::{Row, SqlitePool};
use uuid::Uuid;

use crate::crypto::{envelope_key, CryptoError, DataKey, KeyId};
use crate::keychain::{KeyRing, Keychain, KeychainError};

static MIGRATOR: sqlx::migrate::Migrator = sqlx::migrate!("../../migrations/cache");

/// Tables whose rows carry a sealed blob and its key id.
const SEALED_TABLES: [&str; 5] = [
    "queue_claim",
    "claim_detail",
    "outbox",
    "outbox_conflict",
    "document_blob",
];

/// The plaintext sealed as the key check; opening it proves the key.
const KEY_CHECK: &[u8] = b"claimdesk cache key check v1";

/// Whose cache: one per login and central server.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CacheOwner {
    /// The PostgreSQL login.
    pub login: String,
    /// `host:port/database` of central.
    pub server: String,
}

impl CacheOwner {
    /// The keychain account holding this cache's keys.
    pub fn account(&self) -> String {
        format!("{}@{}", self.login, self.server)
    }

    /// The file name: a digest, so the folder listing names nobody.
    pub fn file_name(&self) -> String {
        let digest = Sha256::digest(self.account().as_bytes());
        let hex: String = digest[..12].iter().map(|b| format!("{b:02x}")).collect();
        format!("cache-{hex}.sqlite3")
    }
}

/// Why an existing cache was wiped and rebuilt.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, specta::Type)]
#[serde(rename_all = "snake_case")]
pub enum RebuildReason {
    /// The keychain had no key for it (removed, or a new keychain).
    KeyMissing,
    /// The keychain's key does not open it (the key was replaced).
    KeyChanged,
    /// The file is damaged or is not a ClaimDesk cache.
    Corrupt,
    /// The file belongs to another user or server.
    Foreign,
}

/// How the cache came to be open.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Opened {
    /// The existing cache, intact.
    Existing,
    /// No cache yet: a new one (first run on this machine).
    Created,
    /// The old cache could not be used; it was wiped, and this one is empty.
    Rebuilt(RebuildReason),
}

/// What went wrong with the cache itself.
#[derive(Debug, thiserror::Error)]
pub enum CacheError {
    /// The keychain did not give us a key.
    #[error(transparent)]
    Keychain(#[from] KeychainError),
    /// A stored value did not open.
    #[error(transparent)]
    Crypto(#[from] CryptoError),
    /// SQLite failed (disk full, permissions, …).
    #[error("the local cache failed: {0}")]
    Database(#[from] sqlx::Error),
    /// The cache's migrations failed.
    #[error("the local cache could not be upgraded: {0}")]
    Migrate(#[from] sqlx::migrate::MigrateError),
    /// Removing a damaged file failed.
    #[error("the damaged cache could not be removed: {0}")]
    Io(#[from] std::io::Error),
}

impl CacheError {
    /// The stable code the UI branches on.
    pub fn code(&self) -> claimdesk_core::ErrorCode {
        match self {
            Self::Keychain(e) => e.code(),
            _ => claimdesk_core::ErrorCode::CacheFailed,
        }
    }
}

/// An open cache and the keys that read it. Clones share the pool and the
/// keys: a rotation seen by one (the person's) is seen by all (the engine's).
#[derive(Debug, Clone)]
pub struct Cache {
    pool: SqlitePool,
    keys: Arc<RwLock<KeyRing>>,
    /// Held (shared) by every write from taking its sealing key until its
    /// commit; a rotation takes it alone for its last pass, so no row sealed
    /// under the retiring key can land after that pass.
    sealing: Arc<tokio::sync::RwLock<()>>,
    path: PathBuf,
    /// Document files on screen now: eviction passes them over, so a file
    /// larger than the whole cap can still be viewed while it is open.
    on_screen: Arc<std::sync::Mutex<std::collections::HashSet<Uuid>>>,
}

/// The key to seal with, and the right to write under it until dropped
/// (after the transaction commits).
pub(crate) struct SealingKey {
    key: DataKey,
    _gate: tokio::sync::OwnedRwLockReadGuard<()>,
}

impl std::ops::Deref for SealingKey {
    type Target = DataKey;
    fn deref(&self) -> &DataKey {
        &self.key
    }
}

impl Cache {
    /// Opens (or creates, or rebuilds) the cache of `owner` in `dir`.
    pub async fn open(
        dir: &Path,
        owner: &CacheOwner,
        keychain: &Keychain,
    ) -> Result<(Self, Opened), CacheError> {
        std::fs::create_dir_all(dir)?;
        let path = dir.join(owner.file_name());
        let found = keychain.load(&owner.account()).await?;
        let keys = match found {
            Some(keys) => keys,
            None => {
                let keys = KeyRing::fresh();
                keychain.store(&owner.account(), &keys).await?;
                if path.exists() {
                    wipe_files(&path)?;
                    let cache = Self::create(&path, owner, keys).await?;
                    return Ok((cache, Opened::Rebuilt(RebuildReason::KeyMissing)));
                }
                keys
            }
        };
        Self::open_with_keys(dir, owner, keys).await
    }

    /// Opens the cache of `owner` in `dir` with keys the caller holds,
    /// rebuilding it when they do not open it. The app goes through
    /// [`Cache::open`] and the keychain; benchmarks and tools that make a
    /// throwaway cache come here.
    pub async fn open_with_keys(
        dir: &Path,
        owner: &CacheOwner,
        keys: KeyRing,
    ) -> Result<(Self, Opened), CacheError> {
        std::fs::create_dir_all(dir)?;
        let path = dir.join(owner.file_name());
        if !path.exists() {
            return Ok((Self::create(&path, owner, keys).await?, Opened::Created));
        }
        match Self::check(&path, owner, &keys).await {
            Ok(pool) => Ok((
                Self {
                    pool,
                    keys: Arc::new(RwLock::new(keys)),
                    sealing: Arc::default(),
                    path,
                    on_screen: Arc::default(),
                },
                Opened::Existing,
            )),
            Err(reason) => {
                tracing::warn!(?reason, "local cache unusable; rebuilding it");
                wipe_files(&path)?;
                let cache = Self::create(&path, owner, keys).await?;
                Ok((cache, Opened::Rebuilt(reason)))
            }
        }
    }

    /// Marks a document file as on screen (kept past the cap while it is).
    pub fn keep_on_screen(&self, id: Uuid) {
        self.on_screen.lock().expect("on-screen set").insert(id);
    }

    /// Nothing is on screen any more (the window locked or signed out).
    pub fn nothing_on_screen(&self) {
        self.on_screen.lock().expect("on-screen set").clear();
    }

    /// The document files on screen now.
    pub(crate) fn on_screen(&self) -> Vec<Uuid> {
        self.on_screen
            .lock()
            .expect("on-screen set")
            .iter()
            .copied()
            .collect()
    }

    fn options(path: &Path) -> SqliteConnectOptions {
        SqliteConnectOptions::new()
            .filename(path)
            .journal_mode(SqliteJournalMode::Wal)
            // The outbox must survive a crash or power cut once written.
            .synchronous(SqliteSynchronous::Full)
            .foreign_keys(true)
            // The sync engine's batches and the person's own writes (a claim
            // opened, a decision queued) take turns; on a busy disk a commit
            // can take seconds, and waiting beats failing the person's action.
            .busy_timeout(std::time::Duration::from_secs(30))
    }

    async fn pool(path: &Path, create: bool) -> Result<SqlitePool, sqlx::Error> {
        SqlitePoolOptions::new()
            .max_connections(4)
            .connect_with(Self::options(path).create_if_missing(create))
            .await
    }

    async fn create(path: &Path, owner: &CacheOwner, keys: KeyRing) -> Result<Self, CacheError> {
        let pool = Self::pool(path, true).await?;
        MIGRATOR.run(&pool).await?;
        let check = keys.current().seal("cache_meta", Uuid::nil(), KEY_CHECK);
        sqlx::query("INSERT INTO cache_meta (key, value) VALUES ('owner', ?), ('key_check', ?)")
            .bind(owner.account().into_bytes())
            .bind(check)
            .execute(&pool)
            .await?;
        Ok(Self {
            pool,
            keys: Arc::new(RwLock::new(keys)),
            sealing: Arc::default(),
            path: path.to_path_buf(),
            on_screen: Arc::default(),
        })
    }

    /// Opens an existing file and says why it cannot be used, if it cannot.
    async fn check(
        path: &Path,
        owner: &CacheOwner,
        keys: &KeyRing,
    ) -> Result<SqlitePool, RebuildReason> {
        let pool = Self::pool(path, false)
            .await
            .map_err(|_| RebuildReason::Corrupt)?;
        let verdict = async {
            let ok: String = sqlx::query_scalar("PRAGMA quick_check(1)")
                .fetch_one(&pool)
                .await
                .map_err(|_| RebuildReason::Corrupt)?;
            if ok != "ok" {
                return Err(RebuildReason::Corrupt);
            }
            MIGRATOR
                .run(&pool)
                .await
                .map_err(|_| RebuildReason::Corrupt)?;
            let meta: Vec<(String, Vec<u8>)> = sqlx::query_as(
                "SELECT key, value FROM cache_meta WHERE key IN ('owner', 'key_check')",
            )
            .fetch_all(&pool)
            .await
            .map_err(|_| RebuildReason::Corrupt)?;
            let get = |k: &str| meta.iter().find(|(key, _)| key == k).map(|(_, v)| v);
            let (Some(stored_owner), Some(check)) = (get("owner"), get("key_check")) else {
                return Err(RebuildReason::Corrupt);
            };
            if stored_owner.as_slice() != owner.account().as_bytes() {
                return Err(RebuildReason::Foreign);
            }
            let key = envelope_key(check).map_err(|_| RebuildReason::Corrupt)?;
            let opened = keys
                .get(key)
                .ok_or(RebuildReason::KeyChanged)?
                .open("cache_meta", Uuid::nil(), check)
                .map_err(|_| RebuildReason::KeyChanged)?;
            if opened != KEY_CHECK {
                return Err(RebuildReason::KeyChanged);
            }
            Ok(())
        }
        .await;
        match verdict {
            Ok(()) => Ok(pool),
            Err(reason) => {
                pool.close().await;
                Err(reason)
            }
        }
    }

    /// The SQLite pool, for this crate's sync and outbox.
    pub(crate) fn db(&self) -> &SqlitePool {
        &self.pool
    }

    fn ring(&self) -> std::sync::RwLockReadGuard<'_, KeyRing> {
        self.keys
            .read()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }

    /// The key new blobs are sealed with; hold it until the write commits.
    pub(crate) async fn sealing_key(&self) -> SealingKey {
        let gate = self.sealing.clone().read_owned().await;
        SealingKey {
            key: self.ring().current().clone(),
            _gate: gate,
        }
    }

    /// The key that sealed a blob, if the ring holds it.
    pub(crate) fn key_for(&self, blob: &[u8]) -> Result<DataKey, CryptoError> {
        let id = envelope_key(blob)?;
        self.ring()
            .get(id)
            .cloned()
            .ok_or(CryptoError::OtherKey(id))
    }

    /// Where the file is.
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// Moves the WAL's pages into the main file (after a large sync, so
    /// reads stop looking through the WAL first).
    pub async fn checkpoint(&self) -> Result<(), CacheError> {
        sqlx::query("PRAGMA wal_checkpoint(TRUNCATE)")
            .execute(&self.pool)
            .await?;
        Ok(())
    }

    /// Checkpoints the WAL into the main file and closes the pool.
    pub async fn close(self) {
        // Best effort: a failed checkpoint leaves the WAL, which SQLite
        // replays on the next open.
        let _ = sqlx::query("PRAGMA wal_checkpoint(TRUNCATE)")
            .execute(&self.pool)
            .await;
        self.pool.close().await;
    }

    /// Logout with wipe: the file and its keys are gone.
    pub async fn wipe(self, owner: &CacheOwner, keychain: &Keychain) -> Result<(), CacheError> {
        let path = self.path.clone();
        self.pool.close().await;
        wipe_files(&path)?;
        keychain.delete(&owner.account()).await?;
        Ok(())
    }

    /// Claims in the cached queue, in queue order, decrypted.
    pub async fn queue(&self, limit: i64) -> Result<Vec<QueueClaim>, CacheError> {
        let rows = sqlx::query(
            "SELECT id, claim_type, status, priority, priority_rank, prompt_pay_due, received_at, total_billed,
                    version, duplicate_suspect, risk_severity, provider_id, member_id, sealed
             FROM queue_claim ORDER BY priority_rank, prompt_pay_due, received_at, id LIMIT ?",
        )
        .bind(limit)
        .fetch_all(&self.pool)
        .await?;
        rows.iter().map(|r| self.queue_claim_from(r)).collect()
    }

    /// A slice of the cached queue in queue order: `filter` appends
    /// `AND …` conditions (it is called twice, for the count and the rows).
    /// Returns the number of claims the filter keeps and the slice, decrypted.
    pub(crate) async fn queue_slice(
        &self,
        filter: impl Fn(&mut sqlx::QueryBuilder<'_, sqlx::Sqlite>),
        offset: u32,
        limit: u32,
    ) -> Result<(i64, Vec<QueueClaim>), CacheError> {
        let mut count = sqlx::QueryBuilder::new("SELECT count(*) FROM queue_claim WHERE true");
        filter(&mut count);
        let total: i64 = count.build_query_scalar().fetch_one(&self.pool).await?;
        let mut page = sqlx::QueryBuilder::new(
            "SELECT id, claim_type, status, priority, priority_rank, prompt_pay_due, received_at, total_billed,
                    version, duplicate_suspect, risk_severity, provider_id, member_id, sealed
             FROM queue_claim WHERE true",
        );
        filter(&mut page);
        page.push(" ORDER BY priority_rank, prompt_pay_due, received_at, id LIMIT ")
            .push_bind(i64::from(limit))
            .push(" OFFSET ")
            .push_bind(i64::from(offset));
        let rows = page.build().fetch_all(&self.pool).await?;
        let claims = rows
            .iter()
            .map(|r| self.queue_claim_from(r))
            .collect::<Result<Vec<_>, _>>()?;
        Ok((total, claims))
    }

    /// One claim of the cached queue, decrypted, if it is there.
    pub async fn queue_claim(&self, id: Uuid) -> Result<Option<QueueClaim>, CacheError> {
        let row = sqlx::query(
            "SELECT id, claim_type, status, priority, priority_rank, prompt_pay_due, received_at, total_billed,
                    version, duplicate_suspect, risk_severity, provider_id, member_id, sealed
             FROM queue_claim WHERE id = ?",
        )
        .bind(id.as_bytes().as_slice())
        .fetch_optional(&self.pool)
        .await?;
        row.as_ref().map(|r| self.queue_claim_from(r)).transpose()
    }

    /// Number of claims in the cached queue.
    pub async fn queue_len(&self) -> Result<i64, CacheError> {
        Ok(sqlx::query_scalar("SELECT count(*) FROM queue_claim")
            .fetch_one(&self.pool)
            .await?)
    }

    fn queue_claim_from(&self, r: &sqlx::sqlite::SqliteRow) -> Result<QueueClaim, CacheError> {
        let id = uuid_at(r, "id")?;
        let sealed: Vec<u8> = r.try_get("sealed")?;
        let phi: ClaimPhi =
            serde_json::from_slice(&self.key_for(&sealed)?.open("queue_claim", id, &sealed)?)
                .map_err(|_| CacheError::Crypto(CryptoError::Tampered))?;
        Ok(QueueClaim {
            id,
            claim_type: r.try_get("claim_type")?,
            status: r.try_get("status")?,
            priority: r.try_get("priority")?,
            priority_rank: r.try_get("priority_rank")?,
            prompt_pay_due: parse_at(r, "prompt_pay_due")?,
            received_at: parse_at(r, "received_at")?,
            total_billed: parse_at(r, "total_billed")?,
            version: r.try_get("version")?,
            duplicate_suspect: r.try_get("duplicate_suspect")?,
            risk_severity: r.try_get("risk_severity")?,
            provider_id: uuid_at(r, "provider_id")?,
            member_id: uuid_at(r, "member_id")?,
            phi,
        })
    }

    /// Re-seals up to `batch` rows (of every sealed table) still under an
    /// older key; returns how many it re-sealed (0 when the rotation is done).
    pub async fn reseal_batch(&self, batch: i64) -> Result<u64, CacheError> {
        let current = self.ring().current().clone();
        let mut tx = self.pool.begin().await?;
        let mut done = 0u64;
        // The table name is also the AAD's: a blob re-sealed for its own row.
        for table in SEALED_TABLES {
            // Document files run to megabytes each: a few per pass.
            let limit = if table == "document_blob" {
                batch.min(8)
            } else {
                batch
            };
            let rows: Vec<(Vec<u8>, Vec<u8>)> = sqlx::query_as(&format!(
                "SELECT id, sealed FROM {table} WHERE key_id <> ? LIMIT ?"
            ))
            .bind(current.id().0)
            .bind(limit)
            .fetch_all(&mut *tx)
            .await?;
            for (id, sealed) in &rows {
                let row = Uuid::from_slice(id).map_err(|_| CryptoError::Malformed)?;
                let plain =
                    zeroize::Zeroizing::new(self.key_for(sealed)?.open(table, row, sealed)?);
                sqlx::query(&format!(
                    "UPDATE {table} SET sealed = ?, key_id = ? WHERE id = ?"
                ))
                .bind(current.seal(table, row, &plain))
                .bind(current.id().0)
                .bind(id)
                .execute(&mut *tx)
                .await?;
            }
            done += rows.len() as u64;
        }
        // Reference records: the AAD names their central table.
        let rows: Vec<(String, Vec<u8>, Vec<u8>)> = sqlx::query_as(
            "SELECT table_name, id, sealed FROM reference_record WHERE key_id <> ? LIMIT ?",
        )
        .bind(current.id().0)
        .bind(batch)
        .fetch_all(&mut *tx)
        .await?;
        for (table, id, sealed) in &rows {
            let row = Uuid::from_slice(id).map_err(|_| CryptoError::Malformed)?;
            let plain = zeroize::Zeroizing::new(self.key_for(sealed)?.open(table, row, sealed)?);
            sqlx::query("UPDATE reference_record SET sealed = ?, key_id = ? WHERE table_name = ? AND id = ?")
                .bind(current.seal(table, row, &plain))
                .bind(current.id().0)
                .bind(table)
                .bind(id)
                .execute(&mut *tx)
                .await?;
        }
        done += rows.len() as u64;
        if done == 0 {
            // Every row is under the current key: so is the key check.
            sqlx::query("UPDATE cache_meta SET value = ? WHERE key = 'key_check'")
                .bind(current.seal("cache_meta", Uuid::nil(), KEY_CHECK))
                .execute(&mut *tx)
                .await?;
        }
        tx.commit().await?;
        Ok(done)
    }

    /// Rotates the data key: a new key id in the keychain, then every row
    /// re-sealed in batches, then the old key dropped. Safe to interrupt: the
    /// keychain keeps the old key until the last row is re-sealed, and a
    /// later call finishes the job.
    pub async fn rotate_key(
        &self,
        owner: &CacheOwner,
        keychain: &Keychain,
    ) -> Result<KeyId, CacheError> {
        let rotated = self.ring().rotated();
        keychain.store(&owner.account(), &rotated).await?;
        let id = rotated.current().id();
        *self.keys.write().unwrap_or_else(|p| p.into_inner()) = rotated;
        self.finish_rotation(owner, keychain).await?;
        Ok(id)
    }

    /// Re-seals what an interrupted rotation left and drops the old keys.
    pub async fn finish_rotation(
        &self,
        owner: &CacheOwner,
        keychain: &Keychain,
    ) -> Result<(), CacheError> {
        while self.reseal_batch(2_000).await? > 0 {
            tokio::task::yield_now().await;
        }
        // Writers that took the retiring key before the switch may still be
        // in flight: wait for them, then the last pass sees their rows.
        let _alone = self.sealing.write().await;
        while self.reseal_batch(2_000).await? > 0 {}
        let done = self.ring().without_older();
        keychain.store(&owner.account(), &done).await?;
        *self.keys.write().unwrap_or_else(|p| p.into_inner()) = done;
        Ok(())
    }

    /// Ids of the keys this cache holds, current first.
    pub fn key_ids(&self) -> Vec<KeyId> {
        self.ring().ids()
    }
}

fn wipe_files(path: &Path) -> std::io::Result<()> {
    for suffix in ["", "-wal", "-shm", "-journal"] {
        let mut p = path.as_os_str().to_owned();
        p.push(suffix);
        match std::fs::remove_file(&p) {
            Ok(()) => {}
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
            Err(e) => return Err(e),
        }
    }
    Ok(())
}

pub(crate) fn uuid_at(r: &sqlx::sqlite::SqliteRow, col: &str) -> Result<Uuid, CacheError> {
    let bytes: Vec<u8> = r.try_get(col)?;
    Uuid::from_slice(&bytes).map_err(|e| CacheError::Database(sqlx::Error::Decode(Box::new(e))))
}

fn parse_at<T: FromStr>(r: &sqlx::sqlite::SqliteRow, col: &str) -> Result<T, CacheError>
where
    T::Err: std::error::Error + Send + Sync + 'static,
{
    let text: String = r.try_get(col)?;
    text.parse()
        .map_err(|e| CacheError::Database(sqlx::Error::Decode(Box::new(e))))
}

/// The PHI of a queued claim, sealed in the cache. Masked in Debug.
#[derive(Clone, PartialEq, Eq, Serialize, Deserialize, specta::Type)]
pub struct ClaimPhi {
    /// The payer's claim number.
    pub claim_number: String,
    /// The provider's own reference (CLM01).
    pub patient_account_number: Option<String>,
    /// The member's name as shown in the queue.
    pub member_name: String,
    /// First date of service.
    pub service_from: NaiveDate,
    /// Last date of service.
    pub service_to: NaiveDate,
    /// Why the rules gave this priority (may name diagnoses).
    #[specta(type = Vec<claimdesk_core::priority::Reason>)]
    pub priority_reasons: serde_json::Value,
    /// Pended: why (a pend reason code).
    #[serde(default)]
    pub pend_reason: Option<String>,
    /// Pended: the day the pend ends.
    #[serde(default)]
    pub pend_until: Option<NaiveDate>,
}

impl std::fmt::Debug for ClaimPhi {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("ClaimPhi(***)")
    }
}

/// One claim of the cached queue.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct QueueClaim {
    /// Claim id.
    pub id: Uuid,
    /// professional, institutional, dental, pharmacy.
    pub claim_type: String,
    /// received, in_review, appealed, pended.
    pub status: String,
    /// urgent, high, normal, low.
    pub priority: String,
    /// 1 (urgent) to 4 (low).
    pub priority_rank: i64,
    /// Prompt-pay due date.
    pub prompt_pay_due: NaiveDate,
    /// When central received it.
    pub received_at: DateTime<Utc>,
    /// Total billed.
    pub total_billed: Decimal,
    /// Version for optimistic concurrency.
    pub version: i64,
    /// Flagged as a suspected duplicate.
    pub duplicate_suspect: bool,
    /// Risk flag severity, if flagged.
    pub risk_severity: Option<String>,
    /// Billing provider.
    pub provider_id: Uuid,
    /// Member.
    pub member_id: Uuid,
    /// The sealed part, opened.
    pub phi: ClaimPhi,
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::outbox::{self, Mutation};

    fn view(n: u32) -> Mutation {
        Mutation::PhiView {
            resource_type: "claim".into(),
            resource_id: format!("claim-{n}"),
            member_id: None,
            viewed_at: Utc::now(),
        }
    }

    /// A write that took the retiring key before the switch and commits
    /// after the re-seal passes must still be re-sealed before the old key
    /// is dropped; otherwise its row could never be read again.
    #[tokio::test]
    async fn rotation_waits_for_a_write_sealed_under_the_retiring_key() {
        let dir = tempfile::tempdir().unwrap();
        let store: Arc<keyring_core::api::CredentialStore> =
            keyring_core::mock::Store::new().unwrap();
        let keychain = Keychain::with_store(store).await;
        let owner = CacheOwner {
            login: "alice".into(),
            server: "db:5432/claimdesk".into(),
        };
        let (cache, _) = Cache::open(dir.path(), &owner, &keychain).await.unwrap();
        outbox::enqueue(
            &cache,
            Uuid::now_v7(),
            &view(1),
            outbox::LocalEffect::None,
            Utc::now(),
        )
        .await
        .unwrap();
        let retiring = cache.key_ids()[0];

        // A writer takes the key, then stalls.
        let stalled = cache.sealing_key().await;
        let rotation = tokio::spawn({
            let (cache, owner, keychain) = (cache.clone(), owner.clone(), keychain.clone());
            async move { cache.rotate_key(&owner, &keychain).await }
        });
        // Until the new key is in (or, without the wait, the rotation is over).
        while cache.key_ids().len() < 2 && !rotation.is_finished() {
            tokio::time::sleep(std::time::Duration::from_millis(5)).await;
        }
        tokio::time::sleep(std::time::Duration::from_millis(200)).await;
        assert!(
            !rotation.is_finished(),
            "the rotation dropped the old key while a write under it was in flight"
        );

        let mut tx = cache.db().begin().await.unwrap();
        outbox::enqueue_in(&mut tx, &stalled, Uuid::now_v7(), &view(2), Utc::now())
            .await
            .unwrap();
        tx.commit().await.unwrap();
        drop(stalled);

        let new = rotation.await.unwrap().unwrap();
        assert_ne!(new, retiring);
        assert_eq!(cache.key_ids(), vec![new]);
        let entries = outbox::entries(&cache).await.unwrap();
        assert_eq!(entries.len(), 2, "both rows open under the new key alone");
        assert!(matches!(&entries[1].mutation,
            Mutation::PhiView { resource_id, .. } if resource_id == "claim-2"));
    }
}
