//! One person's local side while they are logged in: their cache, opened
//! with the key from the keychain, and the sync engine working on it.

use std::path::Path;
use std::sync::Arc;
use std::time::Duration;

use chrono::Utc;
use claimdesk_core::ErrorCode;
use sqlx::PgPool;
use tokio::sync::watch;

use crate::cache::{Cache, CacheError, CacheOwner, Opened};
use crate::engine::{EngineConfig, SyncEngine, SyncStatus};
use crate::keychain::Keychain;
use crate::sync::PullLimits;

/// The cache and the engine of the logged-in person.
#[derive(Debug)]
pub struct LocalSession {
    document_cap: u64,
    owner: CacheOwner,
    cache: Cache,
    keychain: Keychain,
    engine: SyncEngine,
    directory: Arc<crate::credentialing::LiveDirectory>,
    queue_index: Arc<crate::search::LiveQueueIndex>,
}

impl LocalSession {
    /// Opens the person's cache under `data_dir` (rebuilding it when it
    /// cannot be read, and saying why) and starts syncing it with central.
    /// Fails when there is no usable keychain: never a silent downgrade.
    pub async fn start(
        data_dir: &Path,
        owner: CacheOwner,
        central: PgPool,
        map_err: Arc<dyn Fn(sqlx::Error) -> ErrorCode + Send + Sync>,
        document_cap: u64,
    ) -> Result<(Self, Opened), CacheError> {
        let keychain = Keychain::platform().await?;
        let (cache, opened) = Cache::open(&data_dir.join("cache"), &owner, &keychain).await?;
        let engine = SyncEngine::start(
            cache.clone(),
            central,
            EngineConfig {
                poll: Duration::from_secs(30),
                limits: PullLimits::default(),
                now: Arc::new(Utc::now),
                map_err,
                document_cap,
            },
        );
        Ok((
            Self {
                document_cap,
                owner,
                cache,
                keychain,
                engine,
                directory: Default::default(),
                queue_index: Default::default(),
            },
            opened,
        ))
    }

    /// The sync status, as it changes.
    pub fn status(&self) -> watch::Receiver<SyncStatus> {
        self.engine.status()
    }

    /// The cache, for reads.
    pub fn cache(&self) -> &Cache {
        &self.cache
    }

    /// The provider directory for the credentialing screens.
    pub fn directory(&self) -> Arc<crate::credentialing::LiveDirectory> {
        self.directory.clone()
    }

    /// The in-memory search over the cached queue's claim numbers, member
    /// names and patient accounts.
    pub fn queue_index(&self) -> Arc<crate::search::LiveQueueIndex> {
        self.queue_index.clone()
    }

    /// Bytes of document files kept at most.
    pub fn document_cap(&self) -> u64 {
        self.document_cap
    }

    /// Wakes the engine (after an outbox entry was written).
    pub fn kick(&self) {
        self.engine.kick();
    }

    /// Stops syncing. With `wipe`, the cache file and its key are removed
    /// (logout on a shared computer); otherwise they stay for next time.
    pub async fn end(self, wipe: bool) -> Result<(), CacheError> {
        self.engine.stop().await;
        if wipe {
            self.cache.wipe(&self.owner, &self.keychain).await
        } else {
            self.cache.close().await;
            Ok(())
        }
    }
}
