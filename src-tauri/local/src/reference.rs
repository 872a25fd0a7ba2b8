//! Reference records a person's screens need, chosen by what their login may
//! read: plans and benefits, providers and their credentials, contracts and
//! fee schedules. An adjudicator gets what the engine prices with; a
//! credentialing specialist gets providers, credentials and verifications.
//! A supervisor gets what an adjudicator gets, restricted claims included
//! (row security decides); the supervisor's audit trail and team-lease
//! screens read central live, since they watch other people's work as it
//! happens and have no offline use.
//! Each table follows central's change feed with its own cursor; rows are
//! sealed like everything else in the cache.

use std::collections::HashMap;

use chrono::{DateTime, Utc};
use claimdesk_core::feed::{end_pull, start_pull};
use sqlx::{PgConnection, PgPool};
use uuid::Uuid;

use crate::cache::{Cache, CacheError};
use crate::crypto::CryptoError;
use crate::sync::{feed_window, load_cursor, Cursor, FeedWindow, SyncError};

/// The tables this module mirrors, when the login may read them.
pub const REFERENCE_TABLES: [&str; 7] = [
    "plan",
    "plan_benefit",
    "provider",
    "provider_credential",
    "credential_verification",
    "contract",
    "fee_schedule",
];

/// What one pull of the reference tables did, per table.
pub type ReferenceReport = HashMap<&'static str, u64>;

/// Which reference tables this login may read, and the columns of each
/// (never ciphertext). Found once per session: privileges do not change
/// between one pull and the next, and every pull would otherwise ask again.
#[derive(Debug, Clone, Default)]
pub struct ReferencePlan {
    /// Table, and the `jsonb_build_object` arguments over its readable columns.
    tables: Vec<(&'static str, String)>,
}

impl ReferencePlan {
    /// Asks central what this login may read, in one query.
    pub async fn discover(central: &PgPool) -> Result<Self, sqlx::Error> {
        let found: Vec<(String, String)> = sqlx::query_as(
            "SELECT c.table_name::text,
                    -- Money goes as text: a JSON number would pass through f64.
                    string_agg(format(CASE WHEN c.data_type = 'numeric' THEN '%L, t.%I::text' ELSE '%L, t.%I' END,
                                      c.column_name, c.column_name), ', ' ORDER BY c.ordinal_position)
             FROM information_schema.columns c
             WHERE c.table_schema = 'claimdesk' AND c.table_name::text = ANY($1)
               AND c.column_name::text NOT LIKE '%\\_ciphertext' AND c.column_name::text <> 'change_xid'
               AND has_column_privilege(format('claimdesk.%I', c.table_name), c.column_name::text, 'SELECT')
             GROUP BY c.table_name",
        )
        .bind(REFERENCE_TABLES.to_vec())
        .fetch_all(central)
        .await?;
        Ok(Self {
            // In REFERENCE_TABLES order, with their 'static names.
            tables: REFERENCE_TABLES
                .iter()
                .filter_map(|t| {
                    found
                        .iter()
                        .find(|(name, _)| name == t)
                        .map(|(_, json)| (*t, json.clone()))
                })
                .collect(),
        })
    }
}

/// Brings every reference table in `plan` up to date.
pub async fn pull_reference(
    cache: &Cache,
    central: &PgPool,
    plan: &ReferencePlan,
    batch: i64,
    now: DateTime<Utc>,
) -> Result<ReferenceReport, SyncError> {
    let mut report = ReferenceReport::new();
    let mut conn = central.acquire().await?;
    for (table, json) in &plan.tables {
        let table = *table;
        let source = format!("ref.{table}");
        let mut applied = 0u64;
        if load_cursor(cache, &source).await?.is_none() {
            applied += snapshot(cache, &mut conn, table, json, batch, now).await?;
        }
        loop {
            let after = load_cursor(cache, &source)
                .await?
                .unwrap_or((0, Uuid::nil()));
            let watermark = start_pull(&mut conn).await?;
            let read = read_changes(&mut conn, table, json, after, watermark, batch).await;
            end_pull(&mut conn, read.is_ok()).await;
            let (mut rows, window) = read?;
            let Some(end) = window.end else {
                break;
            };
            window.cut_rows(&mut rows, |r| (r.1, r.0));
            apply(cache, table, &rows, &window.deleted, Some(end), now).await?;
            applied += (rows.len() + window.deleted.len()) as u64;
            if !window.more {
                break;
            }
        }
        report.insert(table, applied);
    }
    Ok(report)
}

type Row = (Uuid, i64, serde_json::Value);

async fn read_changes(
    conn: &mut PgConnection,
    table: &str,
    json: &str,
    after: Cursor,
    watermark: i64,
    batch: i64,
) -> Result<(Vec<Row>, FeedWindow), SyncError> {
    // Table names come from REFERENCE_TABLES only, never from input.
    let rows: Vec<Row> = sqlx::query_as(&format!(
        "SELECT t.id, t.change_xid::text::bigint, jsonb_build_object({json})
         FROM claimdesk.\"{table}\" t
         WHERE (t.change_xid, t.id) > ($1::text::xid8, $2) AND t.change_xid < $3::text::xid8
         ORDER BY t.change_xid, t.id LIMIT $4"
    ))
    .bind(after.0.to_string())
    .bind(after.1)
    .bind(watermark.to_string())
    .bind(batch)
    .fetch_all(&mut *conn)
    .await?;
    let last = rows.last().map(|r| (r.1, r.0));
    let window = feed_window(
        conn,
        table,
        after,
        watermark,
        last,
        rows.len() as i64 == batch,
        batch,
    )
    .await?;
    Ok((rows, window))
}

/// The first sync of a table: every row visible in one snapshot, then the
/// cursor at that snapshot's watermark. The feed alone could not do it: rows
/// at or above the watermark (a long transaction anywhere holds it back)
/// would wait, and a reference table is small enough to read whole.
async fn snapshot(
    cache: &Cache,
    conn: &mut PgConnection,
    table: &'static str,
    json: &str,
    batch: i64,
    now: DateTime<Utc>,
) -> Result<u64, SyncError> {
    let watermark = start_pull(conn).await?;
    let mut applied = 0u64;
    let mut after = Uuid::nil();
    let read = async {
        loop {
            let rows: Vec<Row> = sqlx::query_as(&format!(
                "SELECT t.id, t.change_xid::text::bigint, jsonb_build_object({json})
                 FROM claimdesk.\"{table}\" t WHERE t.id > $1 ORDER BY t.id LIMIT $2"
            ))
            .bind(after)
            .bind(batch)
            .fetch_all(&mut *conn)
            .await?;
            let Some(last) = rows.last().map(|r| r.0) else {
                return Ok::<_, SyncError>(());
            };
            apply(cache, table, &rows, &[], None, now).await?;
            applied += rows.len() as u64;
            after = last;
        }
    }
    .await;
    end_pull(conn, read.is_ok()).await;
    read?;
    apply(
        cache,
        table,
        &[],
        &[],
        Some((watermark - 1, Uuid::max())),
        now,
    )
    .await?;
    Ok(applied)
}

/// Applies one batch of a table and moves its cursor, in one transaction.
async fn apply(
    cache: &Cache,
    table: &'static str,
    rows: &[Row],
    gone: &[Uuid],
    cursor_at: Option<Cursor>,
    now: DateTime<Utc>,
) -> Result<(), SyncError> {
    let key = cache.sealing_key().await;
    let mut tx = cache.db().begin().await.map_err(CacheError::from)?;
    for (id, xid, record) in rows {
        let plain = zeroize::Zeroizing::new(serde_json::to_vec(record).expect("JSON serialises"));
        sqlx::query(
            "INSERT INTO reference_record (table_name, id, change_xid, key_id, sealed) VALUES (?, ?, ?, ?, ?)
             ON CONFLICT (table_name, id) DO UPDATE SET change_xid = excluded.change_xid,
                 key_id = excluded.key_id, sealed = excluded.sealed",
        )
        .bind(table)
        .bind(id.as_bytes().as_slice())
        .bind(xid)
        .bind(key.id().0)
        .bind(key.seal(table, *id, &plain))
        .execute(&mut *tx)
        .await
        .map_err(CacheError::from)?;
    }
    for id in gone {
        sqlx::query("DELETE FROM reference_record WHERE table_name = ? AND id = ?")
            .bind(table)
            .bind(id.as_bytes().as_slice())
            .execute(&mut *tx)
            .await
            .map_err(CacheError::from)?;
    }
    if let Some(at) = cursor_at {
        crate::sync::store_cursor(&mut tx, &format!("ref.{table}"), at, now)
            .await
            .map_err(CacheError::from)?;
    }
    tx.commit().await.map_err(CacheError::from)?;
    Ok(())
}

/// The cached records of one reference table, decrypted.
pub async fn records(
    cache: &Cache,
    table: &'static str,
) -> Result<Vec<(Uuid, serde_json::Value)>, CacheError> {
    let rows: Vec<(Vec<u8>, Vec<u8>)> =
        sqlx::query_as("SELECT id, sealed FROM reference_record WHERE table_name = ? ORDER BY id")
            .bind(table)
            .fetch_all(cache.db())
            .await?;
    rows.into_iter()
        .map(|(id, sealed)| {
            let id = Uuid::from_slice(&id).map_err(|_| CryptoError::Malformed)?;
            let plain = zeroize::Zeroizing::new(cache.key_for(&sealed)?.open(table, id, &sealed)?);
            Ok((
                id,
                serde_json::from_slice(&plain).map_err(|_| CryptoError::Tampered)?,
            ))
        })
        .collect()
}
