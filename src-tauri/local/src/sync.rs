//! Pulling central's change feed into the cache.
//!
//! The first pull of the queue is a snapshot of the open claims, read in one
//! REPEATABLE READ transaction and applied in batches; its watermark becomes
//! the cursor, so the incremental pulls after it miss nothing committed
//! meanwhile. Each batch lands in one local transaction together with the
//! cursor that follows it, so a crash or a cut connection resumes exactly
//! where the last committed batch ended. A claim with unsent local writes
//! is never overwritten by a server row; it is fetched again once its
//! outbox entries are settled.

use std::collections::HashSet;

use chrono::{DateTime, NaiveDate, Utc};
use claimdesk_core::feed::{end_pull, start_pull};
use claimdesk_core::queue::OPEN_STATUSES;
use rust_decimal::Decimal;
use sqlx::{PgConnection, PgPool, Row};
use uuid::Uuid;

use crate::cache::{Cache, CacheError, ClaimPhi};

/// [`OPEN_STATUSES`], written into SQL as literals: a bound array would keep the
/// planner from the partial index over open claims once it goes generic.
const OPEN_SQL: &str = "'received', 'in_review', 'appealed', 'pended'";

const CLAIM_SOURCE: &str = "claim";

/// Why a pull stopped.
#[derive(Debug, thiserror::Error)]
pub enum SyncError {
    /// Central failed or went away; the cursor is where the last batch left it.
    #[error("central: {0}")]
    Central(#[from] sqlx::Error),
    /// The cache failed.
    #[error(transparent)]
    Cache(#[from] CacheError),
}

impl From<crate::crypto::CryptoError> for SyncError {
    fn from(e: crate::crypto::CryptoError) -> Self {
        Self::Cache(CacheError::Crypto(e))
    }
}

/// Progress of a pull, for the status bar.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PullProgress {
    /// Rows applied so far in this pull.
    pub applied: u64,
    /// Rows the first sync expects (None for incremental pulls).
    pub expected: Option<u64>,
}

/// What a pull did.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct PullReport {
    /// Claims written into the cached queue.
    pub upserted: u64,
    /// Claims removed (decided, voided, deleted, or no longer visible).
    pub removed: u64,
    /// Server rows held back because the claim has unsent local writes.
    pub held_back: u64,
    /// True when this pull was (or finished) the first snapshot.
    pub snapshot: bool,
}

/// A claim row as central sends it.
struct ServerClaim {
    id: Uuid,
    xid: i64,
    claim_type: String,
    status: String,
    priority: String,
    priority_rank: i16,
    prompt_pay_due: NaiveDate,
    received_at: DateTime<Utc>,
    total_billed: Decimal,
    version: i32,
    duplicate_suspect: bool,
    risk_severity: Option<String>,
    provider_id: Uuid,
    member_id: Uuid,
    phi: ClaimPhi,
}

const CLAIM_COLUMNS: &str = "c.id, c.change_xid::text::bigint AS xid, c.claim_type, c.status, c.priority,
    c.priority_rank, c.prompt_pay_due, c.received_at, c.total_billed, c.version,
    c.suspected_duplicate_of IS NOT NULL AS duplicate_suspect, c.risk_severity, c.provider_id, c.member_id,
    c.claim_number, c.patient_account_number, c.service_from, c.service_to, c.priority_reasons,
    c.pend_reason, c.pend_until, m.first_name, m.last_name";

fn server_claim(r: &sqlx::postgres::PgRow) -> Result<ServerClaim, sqlx::Error> {
    let first: String = r.try_get("first_name")?;
    let last: String = r.try_get("last_name")?;
    Ok(ServerClaim {
        id: r.try_get("id")?,
        xid: r.try_get("xid")?,
        claim_type: r.try_get("claim_type")?,
        status: r.try_get("status")?,
        priority: r.try_get("priority")?,
        priority_rank: r.try_get("priority_rank")?,
        prompt_pay_due: r.try_get("prompt_pay_due")?,
        received_at: r.try_get("received_at")?,
        total_billed: r.try_get("total_billed")?,
        version: r.try_get("version")?,
        duplicate_suspect: r.try_get("duplicate_suspect")?,
        risk_severity: r.try_get("risk_severity")?,
        provider_id: r.try_get("provider_id")?,
        member_id: r.try_get("member_id")?,
        phi: ClaimPhi {
            claim_number: r.try_get("claim_number")?,
            patient_account_number: r.try_get("patient_account_number")?,
            member_name: format!("{last}, {first}"),
            service_from: r.try_get("service_from")?,
            service_to: r.try_get("service_to")?,
            priority_reasons: r.try_get("priority_reasons")?,
            pend_reason: r.try_get("pend_reason")?,
            pend_until: r.try_get("pend_until")?,
        },
    })
}

/// A cursor as stored: (xid, id).
pub(crate) type Cursor = (i64, Uuid);

/// How much one pull reads.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PullLimits {
    /// Rows per batch, each applied in one local transaction.
    pub batch: i64,
    /// Claims of the queue's head kept in the cache.
    pub head: i64,
}

impl Default for PullLimits {
    fn default() -> Self {
        Self {
            batch: 2_000,
            head: 100_000,
        }
    }
}

/// A place in queue order.
#[derive(Debug, Clone, PartialEq, Eq)]
struct QueuePosition {
    priority_rank: i16,
    prompt_pay_due: NaiveDate,
    received_at: DateTime<Utc>,
    id: Uuid,
}

/// A first sync under way.
#[derive(Debug, Clone, PartialEq, Eq)]
struct SnapshotProgress {
    watermark: i64,
    position: Option<QueuePosition>,
    applied: u64,
}

/// What a batch does to the snapshot progress.
enum SnapshotMark {
    /// Nothing (incremental pulls).
    Keep,
    /// The snapshot reached here.
    At(SnapshotProgress),
    /// The snapshot is complete.
    Done,
}

async fn snapshot_progress(cache: &Cache) -> Result<Option<SnapshotProgress>, CacheError> {
    let row: Option<(i64, i64, String, String, Vec<u8>, i64)> = sqlx::query_as(
        "SELECT watermark, priority_rank, prompt_pay_due, received_at, id, applied
         FROM snapshot_progress WHERE source = 'claim'",
    )
    .fetch_optional(cache.db())
    .await?;
    let bad =
        |e: Box<dyn std::error::Error + Send + Sync>| CacheError::Database(sqlx::Error::Decode(e));
    row.map(|(watermark, rank, due, received, id, applied)| {
        Ok(SnapshotProgress {
            watermark,
            position: Some(QueuePosition {
                priority_rank: rank as i16,
                prompt_pay_due: due.parse().map_err(|e| bad(Box::new(e)))?,
                received_at: received.parse().map_err(|e| bad(Box::new(e)))?,
                id: Uuid::from_slice(&id).map_err(|e| bad(Box::new(e)))?,
            }),
            applied: applied as u64,
        })
    })
    .transpose()
}

/// Moves one stored cursor in a batch's transaction.
struct CursorUpdate {
    source: &'static str,
    at: Cursor,
}

impl CursorUpdate {
    fn set(source: &'static str, at: Cursor) -> Self {
        Self { source, at }
    }
}

/// Stores where `source` stands in the feed, inside the caller's local
/// transaction (the one that applied the rows it covers).
pub(crate) async fn store_cursor(
    tx: &mut sqlx::SqliteConnection,
    source: &str,
    (xid, id): Cursor,
    now: DateTime<Utc>,
) -> Result<(), sqlx::Error> {
    sqlx::query(
        "INSERT INTO sync_cursor (source, xid, id, synced_at) VALUES (?, ?, ?, ?)
         ON CONFLICT (source) DO UPDATE SET xid = excluded.xid, id = excluded.id, synced_at = excluded.synced_at",
    )
    .bind(source)
    .bind(xid)
    .bind(id.as_bytes().as_slice())
    .bind(now.to_rfc3339())
    .execute(&mut *tx)
    .await?;
    Ok(())
}

/// Where `source` stands in the feed, if it has started.
pub(crate) async fn load_cursor(cache: &Cache, source: &str) -> Result<Option<Cursor>, CacheError> {
    let row: Option<(i64, Vec<u8>)> =
        sqlx::query_as("SELECT xid, id FROM sync_cursor WHERE source = ?")
            .bind(source)
            .fetch_optional(cache.db())
            .await?;
    row.map(|(xid, id)| {
        Ok((
            xid,
            Uuid::from_slice(&id).map_err(|_| crate::crypto::CryptoError::Malformed)?,
        ))
    })
    .transpose()
}

/// Claims with unsent local writes: server rows must not overwrite them.
async fn held_claims(cache: &Cache) -> Result<HashSet<Uuid>, CacheError> {
    crate::outbox::claims_with_entries(cache, true).await
}

/// What one local transaction applies.
struct Batch<'a> {
    /// Server rows: open ones are upserted, others removed.
    upserts: &'a [ServerClaim],
    /// Deleted on central.
    removals: &'a [Uuid],
    /// Cursors that move with it.
    cursors: &'a [CursorUpdate],
    /// The first sync's progress, if it is one of its batches.
    snapshot: SnapshotMark,
}

/// Rows per INSERT statement: 16 parameters each, well under SQLite's limit,
/// and one statement instead of hundreds per batch.
const ROWS_PER_INSERT: usize = 400;

/// Applies one batch and moves the cursors, in one local transaction.
async fn apply_batch(
    cache: &Cache,
    batch: Batch<'_>,
    held: &HashSet<Uuid>,
    now: DateTime<Utc>,
    report: &mut PullReport,
) -> Result<(), SyncError> {
    let Batch {
        upserts,
        removals,
        cursors,
        snapshot,
    } = batch;
    let key = cache.sealing_key().await;
    let mut open = Vec::with_capacity(upserts.len());
    let mut closed = Vec::new();
    for c in upserts {
        if held.contains(&c.id) {
            report.held_back += 1;
        } else if OPEN_STATUSES.contains(&c.status.as_str()) {
            let plain =
                zeroize::Zeroizing::new(serde_json::to_vec(&c.phi).expect("claim PHI serialises"));
            open.push((c, key.seal("queue_claim", c.id, &plain)));
        } else {
            closed.push(c.id);
        }
    }
    let mut tx = cache.db().begin().await?;
    for chunk in open.chunks(ROWS_PER_INSERT) {
        let mut q = sqlx::QueryBuilder::<sqlx::Sqlite>::new(
            "INSERT INTO queue_claim (id, claim_type, status, priority, priority_rank, prompt_pay_due, received_at,
                 total_billed, version, duplicate_suspect, risk_severity, provider_id, member_id, change_xid, key_id, sealed) ",
        );
        q.push_values(chunk, |mut row, (c, sealed)| {
            row.push_bind(c.id.as_bytes().to_vec())
                .push_bind(c.claim_type.clone())
                .push_bind(c.status.clone())
                .push_bind(c.priority.clone())
                .push_bind(c.priority_rank)
                .push_bind(c.prompt_pay_due.to_string())
                .push_bind(
                    c.received_at
                        .to_rfc3339_opts(chrono::SecondsFormat::Micros, true),
                )
                .push_bind(c.total_billed.to_string())
                .push_bind(c.version)
                .push_bind(c.duplicate_suspect)
                .push_bind(c.risk_severity.clone())
                .push_bind(c.provider_id.as_bytes().to_vec())
                .push_bind(c.member_id.as_bytes().to_vec())
                .push_bind(c.xid)
                .push_bind(key.id().0)
                .push_bind(sealed.clone());
        });
        q.push(
            " ON CONFLICT (id) DO UPDATE SET claim_type = excluded.claim_type, status = excluded.status,
                 priority = excluded.priority, priority_rank = excluded.priority_rank,
                 prompt_pay_due = excluded.prompt_pay_due, received_at = excluded.received_at,
                 total_billed = excluded.total_billed, version = excluded.version,
                 duplicate_suspect = excluded.duplicate_suspect, risk_severity = excluded.risk_severity,
                 provider_id = excluded.provider_id, member_id = excluded.member_id,
                 change_xid = excluded.change_xid, key_id = excluded.key_id, sealed = excluded.sealed",
        );
        q.build().execute(&mut *tx).await?;
    }
    report.upserted += open.len() as u64;
    for id in closed {
        let gone = sqlx::query("DELETE FROM queue_claim WHERE id = ?")
            .bind(id.as_bytes().as_slice())
            .execute(&mut *tx)
            .await?;
        report.removed += gone.rows_affected();
    }
    for id in removals {
        if held.contains(id) {
            report.held_back += 1;
            continue;
        }
        let gone = sqlx::query("DELETE FROM queue_claim WHERE id = ?")
            .bind(id.as_bytes().as_slice())
            .execute(&mut *tx)
            .await?;
        report.removed += gone.rows_affected();
    }
    for CursorUpdate { source, at } in cursors {
        store_cursor(&mut tx, source, *at, now).await?;
    }
    match snapshot {
        SnapshotMark::Keep => {}
        SnapshotMark::At(at) => {
            let pos = at.position.expect("a batch was applied");
            sqlx::query(
                "INSERT INTO snapshot_progress (source, watermark, priority_rank, prompt_pay_due, received_at, id, applied)
                 VALUES ('claim', ?, ?, ?, ?, ?, ?)
                 ON CONFLICT (source) DO UPDATE SET watermark = excluded.watermark,
                     priority_rank = excluded.priority_rank, prompt_pay_due = excluded.prompt_pay_due,
                     received_at = excluded.received_at, id = excluded.id, applied = excluded.applied",
            )
            .bind(at.watermark)
            .bind(pos.priority_rank)
            .bind(pos.prompt_pay_due.to_string())
            .bind(pos.received_at.to_rfc3339_opts(chrono::SecondsFormat::Micros, true))
            .bind(pos.id.as_bytes().as_slice())
            .bind(at.applied as i64)
            .execute(&mut *tx)
            .await?;
        }
        SnapshotMark::Done => {
            sqlx::query("DELETE FROM snapshot_progress WHERE source = 'claim'")
                .execute(&mut *tx)
                .await?;
        }
    }
    tx.commit().await?;
    Ok(())
}

/// Brings the cached queue up to date with central. The first call takes
/// the snapshot (reporting progress); later calls read the change feed.
pub async fn pull_queue(
    cache: &Cache,
    central: &PgPool,
    limits: PullLimits,
    now: DateTime<Utc>,
    progress: &mut (dyn FnMut(PullProgress) + Send),
) -> Result<PullReport, SyncError> {
    let PullLimits { batch, head } = limits;
    let mut report = PullReport::default();
    let visible: bool =
        sqlx::query_scalar("SELECT has_table_privilege('claimdesk.claim', 'SELECT')")
            .fetch_one(central)
            .await?;
    if !visible {
        // Credentialing staff: no claims to cache.
        return Ok(report);
    }
    let snapshot = snapshot_progress(cache).await?;
    let incremental = load_cursor(cache, CLAIM_SOURCE).await?;
    if incremental.is_none() || snapshot.is_some() {
        snapshot_queue(cache, central, limits, now, snapshot, progress, &mut report).await?;
    }
    feed_queue(cache, central, batch, now, progress, &mut report).await?;
    // The feed brings changes to any open claim; keep only the head. Only
    // a pull that added rows can have pushed the queue past it.
    if report.upserted == 0 {
        return Ok(report);
    }
    let trimmed = sqlx::query(
        "DELETE FROM queue_claim WHERE id IN (SELECT id FROM queue_claim
             ORDER BY priority_rank, prompt_pay_due, received_at, id LIMIT -1 OFFSET ?)",
    )
    .bind(head)
    .execute(cache.db())
    .await
    .map_err(CacheError::from)?;
    report.removed += trimmed.rows_affected();
    Ok(report)
}

/// The first sync: the head of the open queue visible to this login, in
/// queue order, in one central snapshot. Resumable: the stored progress
/// keeps the first watermark and the queue position reached.
async fn snapshot_queue(
    cache: &Cache,
    central: &PgPool,
    limits: PullLimits,
    now: DateTime<Utc>,
    resume: Option<SnapshotProgress>,
    progress: &mut (dyn FnMut(PullProgress) + Send),
    report: &mut PullReport,
) -> Result<(), SyncError> {
    report.snapshot = true;
    let mut conn = central.acquire().await?;
    let watermark = start_pull(&mut conn).await?;
    // Resuming keeps the first watermark: changes since then are re-read by
    // the feed afterwards, so rows applied before the interruption are safe.
    let at = resume.unwrap_or(SnapshotProgress {
        watermark,
        position: None,
        applied: 0,
    });
    let first_watermark = at.watermark;
    let read = snapshot_batches(cache, &mut conn, limits, now, at, progress, report).await;
    end_pull(&mut conn, read.is_ok()).await;
    read?;
    // Snapshot complete: the feed continues from its first watermark.
    apply_batch(
        cache,
        Batch {
            upserts: &[],
            removals: &[],
            cursors: &[CursorUpdate::set(
                CLAIM_SOURCE,
                (first_watermark - 1, Uuid::max()),
            )],
            snapshot: SnapshotMark::Done,
        },
        &HashSet::new(),
        now,
        report,
    )
    .await
}

/// The batches of a snapshot, inside the caller's pull transaction.
async fn snapshot_batches(
    cache: &Cache,
    conn: &mut PgConnection,
    limits: PullLimits,
    now: DateTime<Utc>,
    mut at: SnapshotProgress,
    progress: &mut (dyn FnMut(PullProgress) + Send),
    report: &mut PullReport,
) -> Result<(), SyncError> {
    // Counted only up to the head: a full count of a large open queue
    // costs as much as a batch.
    let open: i64 = sqlx::query_scalar(&format!(
        "SELECT count(*) FROM (SELECT 1 FROM claimdesk.claim WHERE status IN ({OPEN_SQL}) LIMIT $1) head"
    ))
    .bind(limits.head)
    .fetch_one(&mut *conn)
    .await?;
    let expected = open.max(0) as u64;
    progress(PullProgress {
        applied: at.applied,
        expected: Some(expected),
    });
    // Central reads the next batch while the cache writes this one.
    let take = |applied: u64| limits.batch.min(expected.saturating_sub(applied) as i64);
    let mut next = if take(at.applied) > 0 {
        snapshot_rows(conn, at.position.as_ref(), take(at.applied)).await?
    } else {
        Vec::new()
    };
    while !next.is_empty() {
        let claims = std::mem::take(&mut next);
        let last = claims.last().expect("not empty");
        let asked = take(at.applied);
        at.position = Some(QueuePosition {
            priority_rank: last.priority_rank,
            prompt_pay_due: last.prompt_pay_due,
            received_at: last.received_at,
            id: last.id,
        });
        at.applied += claims.len() as u64;
        let more = (claims.len() as i64) == asked && take(at.applied) > 0;
        // Held claims are checked per batch: the person may act meanwhile.
        let held = held_claims(cache).await?;
        let apply = apply_batch(
            cache,
            Batch {
                upserts: &claims,
                removals: &[],
                cursors: &[],
                snapshot: SnapshotMark::At(at.clone()),
            },
            &held,
            now,
            report,
        );
        let position = at.position.clone();
        let fetch = async {
            if more {
                snapshot_rows(conn, position.as_ref(), take(at.applied)).await
            } else {
                Ok(Vec::new())
            }
        };
        let (applied, fetched) = tokio::join!(apply, fetch);
        applied?;
        next = fetched?;
        progress(PullProgress {
            applied: at.applied,
            expected: Some(expected),
        });
    }
    Ok(())
}

/// Up to `take` open claims after `after` in queue order.
async fn snapshot_rows(
    conn: &mut PgConnection,
    after: Option<&QueuePosition>,
    take: i64,
) -> Result<Vec<ServerClaim>, SyncError> {
    let rows = sqlx::query(&format!(
        "SELECT {CLAIM_COLUMNS} FROM claimdesk.claim c JOIN claimdesk.member m ON m.id = c.member_id
         WHERE c.status IN ({OPEN_SQL})
           AND ($1::smallint IS NULL
                OR (c.priority_rank, c.prompt_pay_due, c.received_at, c.id) > ($1, $2, $3, $4))
         ORDER BY c.priority_rank, c.prompt_pay_due, c.received_at, c.id LIMIT $5"
    ))
    .bind(after.map(|p| p.priority_rank))
    .bind(after.map(|p| p.prompt_pay_due))
    .bind(after.map(|p| p.received_at))
    .bind(after.map(|p| p.id))
    .bind(take)
    .fetch_all(&mut *conn)
    .await?;
    Ok(rows
        .iter()
        .map(server_claim)
        .collect::<Result<Vec<_>, _>>()?)
}

/// Incremental pulls: every claim change since the cursor, any status.
async fn feed_queue(
    cache: &Cache,
    central: &PgPool,
    batch: i64,
    now: DateTime<Utc>,
    progress: &mut (dyn FnMut(PullProgress) + Send),
    report: &mut PullReport,
) -> Result<(), SyncError> {
    let mut applied = 0u64;
    loop {
        let after = load_cursor(cache, CLAIM_SOURCE)
            .await?
            .unwrap_or((0, Uuid::nil()));
        let mut conn = central.acquire().await?;
        let watermark = start_pull(&mut conn).await?;
        let read = feed_batch(&mut conn, after, watermark, batch).await;
        end_pull(&mut conn, read.is_ok()).await;
        drop(conn);
        let (mut claims, window) = read?;
        let Some(end) = window.end else {
            break;
        };
        window.cut_rows(&mut claims, |c| (c.xid, c.id));
        let held = held_claims(cache).await?;
        apply_batch(
            cache,
            Batch {
                upserts: &claims,
                removals: &window.deleted,
                cursors: &[CursorUpdate::set(CLAIM_SOURCE, end)],
                snapshot: SnapshotMark::Keep,
            },
            &held,
            now,
            report,
        )
        .await?;
        applied += (claims.len() + window.deleted.len()) as u64;
        progress(PullProgress {
            applied,
            expected: None,
        });
        if !window.more {
            break;
        }
    }
    Ok(())
}

/// One batch of claim changes and the deletions that go with it, inside the
/// caller's pull transaction.
async fn feed_batch(
    conn: &mut PgConnection,
    after: Cursor,
    watermark: i64,
    batch: i64,
) -> Result<(Vec<ServerClaim>, FeedWindow), SyncError> {
    let rows = sqlx::query(&format!(
        "SELECT {CLAIM_COLUMNS} FROM claimdesk.claim c JOIN claimdesk.member m ON m.id = c.member_id
         WHERE (c.change_xid, c.id) > ($1::text::xid8, $2) AND c.change_xid < $3::text::xid8
         ORDER BY c.change_xid, c.id LIMIT $4"
    ))
    .bind(after.0.to_string())
    .bind(after.1)
    .bind(watermark.to_string())
    .bind(batch)
    .fetch_all(&mut *conn)
    .await?;
    let claims = rows
        .iter()
        .map(server_claim)
        .collect::<Result<Vec<_>, _>>()?;
    let last = claims.last().map(|c| (c.xid, c.id));
    let window = feed_window(
        conn,
        "claim",
        after,
        watermark,
        last,
        claims.len() as i64 == batch,
        batch,
    )
    .await?;
    Ok((claims, window))
}

/// The deletions that travel with a batch of changed rows, and where the
/// batch ends. Changed rows and deletions are two streams in one feed order:
/// when the row read was cut by its limit, deletions are read only up to its
/// last row; when the deletion read is cut by its limit, the batch ends at
/// its last deletion and the rows after it wait for the next round. Either
/// way the cursor never passes a change it has not applied.
pub(crate) struct FeedWindow {
    /// Rows deleted on central, in feed order.
    pub deleted: Vec<Uuid>,
    /// Where the cursor moves to (None: nothing changed).
    pub end: Option<Cursor>,
    /// Changed rows after this wait for the next round.
    cut: Option<Cursor>,
    /// A limit was reached: there may be more.
    pub more: bool,
}

impl FeedWindow {
    /// Drops the changed rows past the window's end.
    pub fn cut_rows<T>(&self, rows: &mut Vec<T>, at: impl Fn(&T) -> Cursor) {
        if let Some(cut) = self.cut {
            rows.retain(|r| at(r) <= cut);
        }
    }
}

/// Reads the deletions of `table` that go with a batch of changed rows whose
/// last row is `rows_last` (see [`FeedWindow`]).
pub(crate) async fn feed_window(
    conn: &mut PgConnection,
    table: &str,
    after: Cursor,
    watermark: i64,
    rows_last: Option<Cursor>,
    rows_full: bool,
    batch: i64,
) -> Result<FeedWindow, sqlx::Error> {
    let upto = rows_last.filter(|_| rows_full);
    let deleted: Vec<(Uuid, i64)> = sqlx::query_as(
        "SELECT row_id, change_xid::text::bigint FROM claimdesk.change_tombstone
         WHERE table_name = $1 AND (change_xid, row_id) > ($2::text::xid8, $3)
           AND change_xid < $4::text::xid8
           AND ($5::bigint IS NULL OR (change_xid, row_id) <= ($5::text::xid8, $6))
         ORDER BY change_xid, row_id LIMIT $7",
    )
    .bind(table)
    .bind(after.0.to_string())
    .bind(after.1)
    .bind(watermark.to_string())
    .bind(upto.map(|u| u.0))
    .bind(upto.map(|u| u.1))
    .bind(batch)
    .fetch_all(&mut *conn)
    .await?;
    let deletions_full = deleted.len() as i64 == batch;
    let last_deleted = deleted.last().map(|&(id, xid)| (xid, id));
    let (end, cut) = if deletions_full {
        (last_deleted, last_deleted)
    } else {
        (rows_last.max(last_deleted), None)
    };
    Ok(FeedWindow {
        deleted: deleted.into_iter().map(|(id, _)| id).collect(),
        end,
        cut,
        more: rows_full || deletions_full,
    })
}

/// Fetches the given claims directly (after their outbox entries settled)
/// and applies them as the feed would.
pub async fn refresh_claims(
    cache: &Cache,
    central: &PgPool,
    ids: &[Uuid],
    now: DateTime<Utc>,
) -> Result<PullReport, SyncError> {
    let mut report = PullReport::default();
    let rows = sqlx::query(&format!(
        "SELECT {CLAIM_COLUMNS} FROM claimdesk.claim c JOIN claimdesk.member m ON m.id = c.member_id
         WHERE c.id = ANY($1)"
    ))
    .bind(ids)
    .fetch_all(central)
    .await?;
    let claims = rows
        .iter()
        .map(server_claim)
        .collect::<Result<Vec<_>, _>>()?;
    let found: HashSet<Uuid> = claims.iter().map(|c| c.id).collect();
    // Not visible any more (restricted, deleted): out of the cache.
    let gone: Vec<Uuid> = ids
        .iter()
        .filter(|id| !found.contains(id))
        .copied()
        .collect();
    let held = held_claims(cache).await?;
    apply_batch(
        cache,
        Batch {
            upserts: &claims,
            removals: &gone,
            cursors: &[],
            snapshot: SnapshotMark::Keep,
        },
        &held,
        now,
        &mut report,
    )
    .await?;
    Ok(report)
}
