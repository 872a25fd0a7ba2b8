//! Reading the central change feed without ever skipping a committed row.
//!
//! Rows carry the id of the transaction that last wrote them (`change_xid`).
//! A pull runs in one REPEATABLE READ transaction, takes the watermark
//! `pg_snapshot_xmin(pg_current_snapshot())` (every transaction below it
//! has finished) and reads rows above the cursor and below the watermark, in
//! `(change_xid, id)` order. See migrations/central/0003 for why a sequence
//! or timestamp cursor would skip rows.

use sqlx::PgConnection;
use uuid::Uuid;

/// The tables sync mirrors; must equal `claimdesk.synced_tables()`.
pub const SYNCED_TABLES: [&str; 19] = [
    "employer_group",
    "plan",
    "plan_benefit",
    "member",
    "policy",
    "coverage_period",
    "accumulator",
    "provider",
    "provider_credential",
    "credential_verification",
    "contract",
    "fee_schedule",
    "claim",
    "claim_diagnosis",
    "claim_line",
    "claim_note",
    "claim_status_history",
    "appeal",
    "document",
];

/// Where a reader stands in one table's feed.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Default)]
pub struct FeedCursor {
    /// The transaction id (xid8) of the last row read.
    pub xid: i64,
    /// The id of the last row read, to page within one transaction.
    pub id: Uuid,
}

/// A row that changed: its id and the transaction that wrote it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Change {
    /// Row id.
    pub id: Uuid,
    /// The writing transaction.
    pub xid: i64,
    /// True for a deletion (a tombstone).
    pub deleted: bool,
}

/// One pull: the changes in feed order and the cursor to pass next time.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FeedBatch {
    /// Changed rows, then tombstones, each in feed order.
    pub changes: Vec<Change>,
    /// Resume here.
    pub next: FeedCursor,
}

/// Why a pull failed before reaching the server.
#[derive(Debug, thiserror::Error)]
pub enum FeedError {
    /// Not one of [`SYNCED_TABLES`]; table names are never taken from input.
    #[error("{0} is not a synced table")]
    UnknownTable(String),
    /// The query failed.
    #[error(transparent)]
    Database(#[from] sqlx::Error),
}

/// Starts a pull on `conn`: a read-only REPEATABLE READ transaction, and its
/// watermark. Read rows with `(change_xid, id) > cursor AND change_xid <
/// watermark`, in `(change_xid, id)` order, inside this transaction; every
/// transaction below the watermark has finished, so nothing committed later
/// can land behind the cursor. The caller ends it with [`end_pull`] on every
/// path. (Plain BEGIN/COMMIT rather than sqlx's `Transaction` and
/// `raw_sql`: the sync engine holds it inside a spawned task, and those
/// futures are not `Send` for every lifetime.)
pub async fn start_pull(conn: &mut PgConnection) -> Result<i64, sqlx::Error> {
    // sqlx::query, not raw_sql: raw_sql's future is not Send for every
    // lifetime, and this runs inside a spawned task.
    sqlx::query("BEGIN ISOLATION LEVEL REPEATABLE READ, READ ONLY")
        .execute(&mut *conn)
        .await?;
    match watermark(conn).await {
        Ok(w) => Ok(w),
        Err(e) => {
            end_pull(conn, false).await;
            Err(e)
        }
    }
}

/// Ends a [`start_pull`] transaction: commits when `ok`, else rolls back.
/// A failure here means the connection is gone, and the pool drops it.
pub async fn end_pull(conn: &mut PgConnection, ok: bool) {
    let _ = sqlx::query(if ok { "COMMIT" } else { "ROLLBACK" })
        .execute(conn)
        .await;
}

async fn watermark(conn: &mut PgConnection) -> Result<i64, sqlx::Error> {
    sqlx::query_scalar("SELECT pg_snapshot_xmin(pg_current_snapshot())::text::bigint")
        .fetch_one(conn)
        .await
}

/// Reads up to `limit` changes of `table` after `after`.
pub async fn pull(
    conn: &mut PgConnection,
    table: &str,
    after: FeedCursor,
    limit: i64,
) -> Result<FeedBatch, FeedError> {
    let table = SYNCED_TABLES
        .iter()
        .find(|t| **t == table)
        .ok_or_else(|| FeedError::UnknownTable(table.to_string()))?;
    let watermark = start_pull(conn).await?;
    let read: Result<Vec<(Uuid, i64, bool)>, _> = sqlx::query_as(&format!(
        "(SELECT id, change_xid::text::bigint AS xid, false AS deleted FROM claimdesk.{table}
          WHERE (change_xid, id) > ($1::text::xid8, $2) AND change_xid < $3::text::xid8
          ORDER BY change_xid, id LIMIT $4)
         UNION ALL
         (SELECT row_id, change_xid::text::bigint, true FROM claimdesk.change_tombstone
          WHERE table_name = $5 AND (change_xid, row_id) > ($1::text::xid8, $2)
            AND change_xid < $3::text::xid8
          ORDER BY change_xid, row_id LIMIT $4)
         ORDER BY 2, 1 LIMIT $4"
    ))
    .bind(after.xid.to_string())
    .bind(after.id)
    .bind(watermark.to_string())
    .bind(limit)
    .bind(table)
    .fetch_all(&mut *conn)
    .await;
    end_pull(conn, read.is_ok()).await;
    let rows = read?;
    let next = rows
        .last()
        .map_or(after, |&(id, xid, _)| FeedCursor { xid, id });
    Ok(FeedBatch {
        changes: rows
            .into_iter()
            .map(|(id, xid, deleted)| Change { id, xid, deleted })
            .collect(),
        next,
    })
}
