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
use rust_decimal::Decimal;
use sqlx::{PgConnection, PgPool, Row};
use uuid::Uuid;

use crate::cache::{Cache, CacheError, ClaimPhi};

/// Statuses of the open queue.
pub const OPEN_STATUSES: [&str; 4] = ["received", "in_review", "appealed", "pended"];

const CLAIM_SOURCE: &str = "claim";
const SNAPSHOT_SOURCE: &str = "claim.snapshot";

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
    m.first_name, m.last_name";

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
        },
    })
}

/// A cursor as stored: (xid, id).
type Cursor = (i64, Uuid);

/// Moves (or removes, with `None`) one stored cursor in a batch's transaction.
struct CursorUpdate {
    source: &'static str,
    at: Option<Cursor>,
}

impl CursorUpdate {
    fn set(source: &'static str, at: Cursor) -> Self {
        Self {
            source,
            at: Some(at),
        }
    }

    fn clear(source: &'static str) -> Self {
        Self { source, at: None }
    }
}

async fn cursor(cache: &Cache, source: &str) -> Result<Option<Cursor>, CacheError> {
    let row: Option<(i64, Vec<u8>)> =
        sqlx::query_as("SELECT xid, id FROM sync_cursor WHERE source = ?")
            .bind(source)
            .fetch_optional(cache.db())
            .await?;
    row.map(|(xid, id)| {
        Uuid::from_slice(&id)
            .map(|id| (xid, id))
            .map_err(|e| CacheError::Database(sqlx::Error::Decode(Box::new(e))))
    })
    .transpose()
}

/// Claims with unsent local writes: server rows must not overwrite them.
async fn held_claims(cache: &Cache) -> Result<HashSet<Uuid>, CacheError> {
    let ids: Vec<Vec<u8>> = sqlx::query_scalar(
        "SELECT DISTINCT claim_id FROM outbox WHERE claim_id IS NOT NULL AND state = 'pending'",
    )
    .fetch_all(cache.db())
    .await?;
    Ok(ids
        .iter()
        .filter_map(|b| Uuid::from_slice(b).ok())
        .collect())
}

/// Applies one batch and moves the cursors, in one local transaction.
async fn apply_batch(
    cache: &Cache,
    upserts: &[ServerClaim],
    removals: &[Uuid],
    held: &HashSet<Uuid>,
    cursors: &[CursorUpdate],
    now: DateTime<Utc>,
    report: &mut PullReport,
) -> Result<(), SyncError> {
    let key = cache.key();
    let mut tx = cache.db().begin().await?;
    for c in upserts {
        if held.contains(&c.id) {
            report.held_back += 1;
            continue;
        }
        if !OPEN_STATUSES.contains(&c.status.as_str()) {
            let gone = sqlx::query("DELETE FROM queue_claim WHERE id = ?")
                .bind(c.id.as_bytes().as_slice())
                .execute(&mut *tx)
                .await?;
            report.removed += gone.rows_affected();
            continue;
        }
        let plain =
            zeroize::Zeroizing::new(serde_json::to_vec(&c.phi).expect("claim PHI serialises"));
        sqlx::query(
            "INSERT INTO queue_claim (id, claim_type, status, priority, priority_rank, prompt_pay_due, received_at,
                 total_billed, version, duplicate_suspect, risk_severity, provider_id, member_id, change_xid, key_id, sealed)
             VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
             ON CONFLICT (id) DO UPDATE SET claim_type = excluded.claim_type, status = excluded.status,
                 priority = excluded.priority, priority_rank = excluded.priority_rank,
                 prompt_pay_due = excluded.prompt_pay_due, received_at = excluded.received_at,
                 total_billed = excluded.total_billed, version = excluded.version,
                 duplicate_suspect = excluded.duplicate_suspect, risk_severity = excluded.risk_severity,
                 provider_id = excluded.provider_id, member_id = excluded.member_id,
                 change_xid = excluded.change_xid, key_id = excluded.key_id, sealed = excluded.sealed",
        )
        .bind(c.id.as_bytes().as_slice())
        .bind(&c.claim_type)
        .bind(&c.status)
        .bind(&c.priority)
        .bind(c.priority_rank)
        .bind(c.prompt_pay_due.to_string())
        .bind(c.received_at.to_rfc3339_opts(chrono::SecondsFormat::Micros, true))
        .bind(c.total_billed.to_string())
        .bind(c.version)
        .bind(c.duplicate_suspect)
        .bind(&c.risk_severity)
        .bind(c.provider_id.as_bytes().as_slice())
        .bind(c.member_id.as_bytes().as_slice())
        .bind(c.xid)
        .bind(key.id().0)
        .bind(key.seal("queue_claim", c.id, &plain))
        .execute(&mut *tx)
        .await?;
        report.upserted += 1;
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
        match at {
            Some((xid, id)) => {
                sqlx::query(
                    "INSERT INTO sync_cursor (source, xid, id, synced_at) VALUES (?, ?, ?, ?)
                     ON CONFLICT (source) DO UPDATE SET xid = excluded.xid, id = excluded.id,
                         synced_at = excluded.synced_at",
                )
                .bind(source)
                .bind(xid)
                .bind(id.as_bytes().as_slice())
                .bind(now.to_rfc3339())
                .execute(&mut *tx)
                .await?;
            }
            None => {
                sqlx::query("DELETE FROM sync_cursor WHERE source = ?")
                    .bind(source)
                    .execute(&mut *tx)
                    .await?;
            }
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
    batch: i64,
    now: DateTime<Utc>,
    progress: &mut (dyn FnMut(PullProgress) + Send),
) -> Result<PullReport, SyncError> {
    let mut report = PullReport::default();
    let visible: bool =
        sqlx::query_scalar("SELECT has_table_privilege('claimdesk.claim', 'SELECT')")
            .fetch_one(central)
            .await?;
    if !visible {
        // Credentialing staff: no claims to cache.
        return Ok(report);
    }
    let snapshot = cursor(cache, SNAPSHOT_SOURCE).await?;
    let incremental = cursor(cache, CLAIM_SOURCE).await?;
    if incremental.is_none() || snapshot.is_some() {
        snapshot_queue(cache, central, batch, now, snapshot, progress, &mut report).await?;
    }
    feed_queue(cache, central, batch, now, progress, &mut report).await?;
    Ok(report)
}

/// The first sync: every open claim visible to this login, in id order, in
/// one central snapshot. Resumable: the stored snapshot cursor keeps the
/// first watermark and the last id applied.
async fn snapshot_queue(
    cache: &Cache,
    central: &PgPool,
    batch: i64,
    now: DateTime<Utc>,
    resume: Option<Cursor>,
    progress: &mut (dyn FnMut(PullProgress) + Send),
    report: &mut PullReport,
) -> Result<(), SyncError> {
    report.snapshot = true;
    let mut conn = central.acquire().await?;
    let watermark = start_pull(&mut conn).await?;
    // Resuming keeps the first watermark: changes since then are re-read by
    // the feed afterwards, so rows applied before the interruption are safe.
    let (first_watermark, after) = resume.unwrap_or((watermark, Uuid::nil()));
    let read = snapshot_batches(
        cache,
        &mut conn,
        batch,
        now,
        first_watermark,
        after,
        progress,
        report,
    )
    .await;
    end_pull(&mut conn, read.is_ok()).await;
    read?;
    // Snapshot complete: the feed continues from its first watermark.
    apply_batch(
        cache,
        &[],
        &[],
        &HashSet::new(),
        &[
            CursorUpdate::clear(SNAPSHOT_SOURCE),
            CursorUpdate::set(CLAIM_SOURCE, (first_watermark - 1, Uuid::max())),
        ],
        now,
        report,
    )
    .await
}

/// The batches of a snapshot, inside the caller's pull transaction.
#[allow(clippy::too_many_arguments)]
async fn snapshot_batches(
    cache: &Cache,
    conn: &mut PgConnection,
    batch: i64,
    now: DateTime<Utc>,
    first_watermark: i64,
    mut after: Uuid,
    progress: &mut (dyn FnMut(PullProgress) + Send),
    report: &mut PullReport,
) -> Result<(), SyncError> {
    let expected: i64 = sqlx::query_scalar(
        "SELECT count(*) FROM claimdesk.claim WHERE status = ANY($1) AND id > $2",
    )
    .bind(OPEN_STATUSES.to_vec())
    .bind(after)
    .fetch_one(&mut *conn)
    .await?;
    let expected = expected as u64;
    let mut applied = 0u64;
    progress(PullProgress {
        applied,
        expected: Some(expected),
    });
    loop {
        let rows = sqlx::query(&format!(
            "SELECT {CLAIM_COLUMNS} FROM claimdesk.claim c JOIN claimdesk.member m ON m.id = c.member_id
             WHERE c.status = ANY($1) AND c.id > $2 ORDER BY c.id LIMIT $3"
        ))
        .bind(OPEN_STATUSES.to_vec())
        .bind(after)
        .bind(batch)
        .fetch_all(&mut *conn)
        .await?;
        let claims = rows
            .iter()
            .map(server_claim)
            .collect::<Result<Vec<_>, _>>()?;
        let Some(last) = claims.last().map(|c| c.id) else {
            return Ok(());
        };
        // Held claims are checked per batch: the person may act meanwhile.
        let held = held_claims(cache).await?;
        apply_batch(
            cache,
            &claims,
            &[],
            &held,
            &[CursorUpdate::set(SNAPSHOT_SOURCE, (first_watermark, last))],
            now,
            report,
        )
        .await?;
        applied += claims.len() as u64;
        after = last;
        progress(PullProgress {
            applied,
            expected: Some(expected),
        });
        if (claims.len() as i64) < batch {
            return Ok(());
        }
    }
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
        let (after_xid, after_id) = cursor(cache, CLAIM_SOURCE)
            .await?
            .unwrap_or((0, Uuid::nil()));
        let mut conn = central.acquire().await?;
        let watermark = start_pull(&mut conn).await?;
        let read = feed_batch(&mut conn, (after_xid, after_id), watermark, batch).await;
        end_pull(&mut conn, read.is_ok()).await;
        drop(conn);
        let (mut claims, tombstones) = read?;
        let claims_full = claims.len() as i64 == batch;
        let upto: Option<Cursor> = claims.last().map(|c| (c.xid, c.id));
        if claims.is_empty() && tombstones.is_empty() {
            break;
        }
        let last_tombstone = tombstones.last().map(|&(id, xid)| (xid, id));
        let tombstones_full = tombstones.len() as i64 == batch;
        let next = if tombstones_full {
            // More deletions may lie before the last claim read: stop at the
            // last deletion and leave later claims to the next round.
            let stop = last_tombstone.expect("a full batch is not empty");
            claims.retain(|c| (c.xid, c.id) <= stop);
            stop
        } else {
            [upto, last_tombstone]
                .into_iter()
                .flatten()
                .max()
                .expect("one of them is non-empty")
        };
        let removals: Vec<Uuid> = tombstones.iter().map(|t| t.0).collect();
        let held = held_claims(cache).await?;
        apply_batch(
            cache,
            &claims,
            &removals,
            &held,
            &[CursorUpdate::set(CLAIM_SOURCE, next)],
            now,
            report,
        )
        .await?;
        applied += (claims.len() + removals.len()) as u64;
        progress(PullProgress {
            applied,
            expected: None,
        });
        if !claims_full && !tombstones_full {
            break;
        }
    }
    Ok(())
}

/// One batch of claim changes and deletions, inside the caller's pull
/// transaction. Deletions are read up to the last changed row read (or the
/// watermark when there is none).
async fn feed_batch(
    conn: &mut PgConnection,
    after: Cursor,
    watermark: i64,
    batch: i64,
) -> Result<(Vec<ServerClaim>, Vec<(Uuid, i64)>), SyncError> {
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
    let upto: Option<Cursor> = claims.last().map(|c| (c.xid, c.id));
    let tombstones: Vec<(Uuid, i64)> = sqlx::query_as(
        "SELECT row_id, change_xid::text::bigint FROM claimdesk.change_tombstone
         WHERE table_name = 'claim' AND (change_xid, row_id) > ($1::text::xid8, $2)
           AND change_xid < $3::text::xid8 AND ($4::bigint IS NULL OR (change_xid, row_id) <= ($4::text::xid8, $5))
         ORDER BY change_xid, row_id LIMIT $6",
    )
    .bind(after.0.to_string())
    .bind(after.1)
    .bind(watermark.to_string())
    .bind(upto.map(|u| u.0))
    .bind(upto.map(|u| u.1))
    .bind(batch)
    .fetch_all(&mut *conn)
    .await?;
    Ok((claims, tombstones))
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
    apply_batch(cache, &claims, &gone, &held, &[], now, &mut report).await?;
    Ok(report)
}
