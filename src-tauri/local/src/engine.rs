//! The sync engine: a tokio task that keeps the cache in step with central.
//!
//! It pulls the queue, the reference records and the person's leased
//! claims (in full, for offline work), pushes the outbox, then waits for whichever comes
//! first: a `NOTIFY claimdesk_changes` from central, a kick from this app (a
//! new outbox entry), the outbox's retry time, or the poll interval (the
//! fallback when notifications are lost). While central is unreachable it
//! backs off and reports itself offline; the person keeps working on the
//! cache and the outbox grows.

use std::sync::Arc;
use std::time::Duration;

use chrono::{DateTime, Utc};
use claimdesk_core::ErrorCode;
use serde::Serialize;
use sqlx::postgres::PgListener;
use sqlx::PgPool;
use tokio::sync::{watch, Notify};

use crate::cache::Cache;
use crate::outbox;
use crate::reference::{pull_reference, ReferencePlan};
use crate::sync::{self, PullProgress};

/// The channel central's change triggers notify on.
pub const CHANGES_CHANNEL: &str = "claimdesk_changes";

/// What the status bar shows about sync.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, specta::Type)]
pub struct SyncStatus {
    /// Central answered the last attempt.
    pub online: bool,
    /// While the first sync runs: rows applied so far and rows expected.
    pub first_sync: Option<FirstSync>,
    /// When the cache last caught up with central.
    pub synced_at: Option<DateTime<Utc>>,
    /// When the queue itself last caught up (before reference data and
    /// leased claims follow), so the queue can show without waiting.
    pub queue_synced_at: Option<DateTime<Utc>>,
    /// When a pull last brought reference records (providers, credentials,
    /// plans, …) that changed: screens built from them reload only then.
    pub reference_changed_at: Option<DateTime<Utc>>,
    /// Claims in the cached queue.
    pub queue_len: u32,
    /// Outbox entries waiting to be sent.
    pub outbox_pending: u32,
    /// Outbox entries central refused that the person must look at.
    pub outbox_conflicts: u32,
    /// Why the last attempt failed, if it did.
    pub last_error: Option<ErrorCode>,
}

impl SyncStatus {
    /// Central failed the last attempt: work goes on from the cache. (Not
    /// yet online during the first sync is not offline.)
    pub fn offline(&self) -> bool {
        !self.online && self.last_error.is_some()
    }
}

/// Progress of the first sync.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, specta::Type)]
pub struct FirstSync {
    /// Rows applied.
    pub applied: u32,
    /// Rows expected.
    pub expected: u32,
}

/// How the engine runs; tests shorten the intervals and fix the clock.
#[derive(Clone)]
pub struct EngineConfig {
    /// Pull this often even without notifications.
    pub poll: Duration,
    /// Batch size and how much of the queue's head to keep.
    pub limits: sync::PullLimits,
    /// The clock.
    pub now: Arc<dyn Fn() -> DateTime<Utc> + Send + Sync>,
    /// Maps a central error to its code (the session knows the settings).
    pub map_err: Arc<dyn Fn(sqlx::Error) -> ErrorCode + Send + Sync>,
    /// Bytes of document files kept on this computer at most.
    pub document_cap: u64,
}

impl std::fmt::Debug for EngineConfig {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("EngineConfig")
            .field("poll", &self.poll)
            .field("limits", &self.limits)
            .finish_non_exhaustive()
    }
}

/// A running engine. Dropping it stops the task.
#[derive(Debug)]
pub struct SyncEngine {
    kick: Arc<Notify>,
    status: watch::Receiver<SyncStatus>,
    stop: Option<tokio::sync::oneshot::Sender<()>>,
    task: Option<tokio::task::JoinHandle<()>>,
}

impl SyncEngine {
    /// Starts syncing `cache` with central through `central`.
    pub fn start(cache: Cache, central: PgPool, config: EngineConfig) -> Self {
        let kick = Arc::new(Notify::new());
        let (status_tx, status) = watch::channel(SyncStatus::default());
        let (stop, stopped) = tokio::sync::oneshot::channel();
        let task = tokio::spawn(run(
            cache,
            central,
            config,
            kick.clone(),
            status_tx,
            stopped,
        ));
        Self {
            kick,
            status,
            stop: Some(stop),
            task: Some(task),
        }
    }

    /// Wakes the engine now (after an outbox entry was written).
    pub fn kick(&self) {
        self.kick.notify_one();
    }

    /// Follows the status.
    pub fn status(&self) -> watch::Receiver<SyncStatus> {
        self.status.clone()
    }

    /// Stops the task and waits for it.
    pub async fn stop(mut self) {
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
        if let Some(task) = self.task.take() {
            let _ = task.await;
        }
    }
}

impl Drop for SyncEngine {
    fn drop(&mut self) {
        if let Some(task) = &self.task {
            task.abort();
        }
    }
}

async fn listener(central: &PgPool) -> Option<PgListener> {
    let mut l = PgListener::connect_with(central).await.ok()?;
    l.listen(CHANGES_CHANNEL).await.ok()?;
    Some(l)
}

async fn run(
    cache: Cache,
    central: PgPool,
    config: EngineConfig,
    kick: Arc<Notify>,
    status: watch::Sender<SyncStatus>,
    mut stopped: tokio::sync::oneshot::Receiver<()>,
) {
    let mut notifications: Option<PgListener> = None;
    let mut failures: i64 = 0;
    // What reference tables this login may read, and whether it holds
    // leases (adjudicators, supervisors); asked once, kept.
    let mut plan: Option<ReferencePlan> = None;
    let mut leases: Option<bool> = None;
    let mut codes_copied = false;
    loop {
        if notifications.is_none() {
            notifications = listener(&central).await;
        }
        let mut retry_at = None;
        let pulled = pull(
            &cache,
            &central,
            &config,
            &status,
            &mut plan,
            &mut leases,
            &mut codes_copied,
        )
        .await;
        match pulled {
            Ok(()) => {
                failures = 0;
                let pushed = outbox::push(&cache, &central, &*config.map_err, (config.now)()).await;
                match pushed {
                    Ok(report) => {
                        retry_at = report.retry_at;
                        if !report.settled_claims.is_empty() {
                            let _ = sync::refresh_claims(
                                &cache,
                                &central,
                                &report.settled_claims,
                                (config.now)(),
                            )
                            .await;
                        }
                    }
                    Err(e) => tracing::error!(error = %e, "outbox push failed locally"),
                }
            }
            Err(code) => {
                failures += 1;
                notifications = None;
                status.send_modify(|s| {
                    s.online = false;
                    s.last_error = Some(code);
                });
            }
        }
        refresh_counts(&cache, &status).await;

        let now = (config.now)();
        let wait = if failures > 0 {
            outbox::backoff(failures - 1).min(config.poll)
        } else {
            retry_at
                .and_then(|t| (t - now).to_std().ok())
                .map_or(config.poll, |d| d.min(config.poll))
        };
        tokio::select! {
            _ = &mut stopped => break,
            _ = kick.notified() => {}
            _ = tokio::time::sleep(wait) => {}
            got = async {
                match notifications.as_mut() {
                    Some(l) => l.recv().await.map(|_| ()),
                    None => std::future::pending().await,
                }
            } => {
                if got.is_err() {
                    notifications = None;
                }
            }
        }
    }
}

/// One pull; on failure, the code to show.
async fn pull(
    cache: &Cache,
    central: &PgPool,
    config: &EngineConfig,
    status: &watch::Sender<SyncStatus>,
    plan: &mut Option<ReferencePlan>,
    leases: &mut Option<bool>,
    codes_copied: &mut bool,
) -> Result<(), ErrorCode> {
    // Owns its sender: a closure borrowing across the await below would make
    // the task's future not Send for every lifetime.
    let progress_tx = status.clone();
    let mut report_progress = move |p: PullProgress| {
        if let Some(expected) = p.expected {
            progress_tx.send_modify(|s| {
                s.first_sync = Some(FirstSync {
                    applied: p.applied.min(u64::from(u32::MAX)) as u32,
                    expected: expected.min(u64::from(u32::MAX)) as u32,
                });
            });
        }
    };
    // The decision panel's code lists first, once per run: they are small,
    // and a person may open a claim as soon as the queue's head arrives.
    // (They change with a release of the code sets, not by the minute.)
    let result = if *codes_copied {
        Ok(())
    } else {
        let copied = crate::codes::refresh(cache, central).await;
        *codes_copied = copied.is_ok();
        copied
    };
    let result = match result {
        Ok(()) => {
            sync::pull_queue(
                cache,
                central,
                config.limits,
                (config.now)(),
                &mut report_progress,
            )
            .await
        }
        Err(e) => Err(e),
    };
    if result.is_ok() {
        let now = (config.now)();
        status.send_modify(|s| s.queue_synced_at = Some(now));
    }
    // Reference records (plans, providers, credentials, …) follow the queue.
    let pulled = match (result, plan.as_ref()) {
        (Ok(_), Some(known)) => {
            pull_reference(cache, central, known, config.limits.batch, (config.now)()).await
        }
        (Ok(_), None) => match ReferencePlan::discover(central).await {
            Ok(found) => {
                pull_reference(
                    cache,
                    central,
                    plan.insert(found),
                    config.limits.batch,
                    (config.now)(),
                )
                .await
            }
            Err(e) => Err(sync::SyncError::Central(e)),
        },
        (Err(e), _) => Err(e),
    };
    let reference_changed = pulled
        .as_ref()
        .is_ok_and(|report| report.values().any(|&rows| rows > 0));
    let result = pulled.map(|_| ());
    // Then the person's leased claims in full, for offline work.
    let result = match result {
        Ok(()) => keep_leased(cache, central, leases, config).await,
        Err(e) => Err(e),
    };
    match result {
        Ok(()) => {
            let now = (config.now)();
            status.send_modify(|s| {
                s.online = true;
                s.first_sync = None;
                s.synced_at = Some(now);
                if reference_changed {
                    s.reference_changed_at = Some(now);
                }
                s.last_error = None;
            });
            Ok(())
        }
        Err(sync::SyncError::Central(e)) => Err((config.map_err)(e)),
        Err(sync::SyncError::Cache(e)) => {
            tracing::error!(error = %e, "cache failed during pull");
            Err(e.code())
        }
    }
}

async fn keep_leased(
    cache: &Cache,
    central: &PgPool,
    leases: &mut Option<bool>,
    config: &EngineConfig,
) -> Result<(), sync::SyncError> {
    let holds = match *leases {
        Some(known) => known,
        None => *leases.insert(
            sqlx::query_scalar("SELECT has_table_privilege('claimdesk.queue_entry', 'SELECT')")
                .fetch_one(central)
                .await?,
        ),
    };
    if holds {
        crate::detail::keep_leased(cache, central, (config.now)()).await?;
        // Their documents too, so a claim opened offline shows its files.
        crate::documents::prefetch_leased(cache, central, config.document_cap, (config.now)())
            .await?;
    }
    Ok(())
}

async fn refresh_counts(cache: &Cache, status: &watch::Sender<SyncStatus>) {
    let counts = async {
        let queue_len = cache.queue_len().await?;
        let (pending, conflicts) = outbox::counts(cache).await?;
        Ok::<_, crate::cache::CacheError>((queue_len, pending, conflicts))
    }
    .await;
    if let Ok((queue_len, pending, conflicts)) = counts {
        let count = |n: i64| u32::try_from(n).unwrap_or(u32::MAX);
        let (queue_len, pending, conflicts) = (count(queue_len), count(pending), count(conflicts));
        status.send_if_modified(|s| {
            let changed = (s.queue_len, s.outbox_pending, s.outbox_conflicts)
                != (queue_len, pending, conflicts);
            s.queue_len = queue_len;
            s.outbox_pending = pending;
            s.outbox_conflicts = conflicts;
            changed
        });
    }
}
