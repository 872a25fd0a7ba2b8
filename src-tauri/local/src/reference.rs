//! Reference records a person's screens need, chosen by what their login may
//! read: plans and benefits, providers and their credentials, contracts and
//! fee schedules. An adjudicator gets what the engine prices with; a
//! credentialing specialist gets providers, credentials and verifications.
//! Each table follows central's change feed with its own cursor; rows are
//! sealed like everything else in the cache.

use std::collections::HashMap;

use chrono::{DateTime, Utc};
use claimdesk_core::feed::{end_pull, start_pull};
use sqlx::{PgConnection, PgPool};
use uuid::Uuid;

use crate::cache::{Cache, CacheError};
use crate::crypto::CryptoError;
use crate::sync::SyncError;

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

/// The columns of `table` this login may read, except ciphertext (never
/// needed here, and refused to most logins anyway).
async fn readable_columns(
    conn: &mut PgConnection,
    table: &str,
) -> Result<Vec<String>, sqlx::Error> {
    sqlx::query_scalar(
        "SELECT column_name::text FROM information_schema.columns
         WHERE table_schema = 'claimdesk' AND table_name = $1
           AND column_name::text NOT LIKE '%\\_ciphertext' AND column_name::text <> 'change_xid'
           AND has_column_privilege(format('claimdesk.%I', $1::text), column_name::text, 'SELECT')
         ORDER BY ordinal_position",
    )
    .bind(table)
    .fetch_all(conn)
    .await
}

/// Brings every reference table this login may read up to date.
pub async fn pull_reference(
    cache: &Cache,
    central: &PgPool,
    batch: i64,
    now: DateTime<Utc>,
) -> Result<ReferenceReport, SyncError> {
    let mut report = ReferenceReport::new();
    let mut conn = central.acquire().await?;
    for table in REFERENCE_TABLES {
        let readable: bool = sqlx::query_scalar(
            "SELECT has_any_column_privilege(format('claimdesk.%I', $1::text), 'SELECT')",
        )
        .bind(table)
        .fetch_one(&mut *conn)
        .await?;
        if !readable {
            continue;
        }
        let columns = readable_columns(&mut conn, table).await?;
        let json = columns
            .iter()
            .map(|c| format!("'{c}', t.\"{c}\""))
            .collect::<Vec<_>>()
            .join(", ");
        let mut applied = 0u64;
        if cursor(cache, table).await?.is_none() {
            applied += snapshot(cache, &mut conn, table, &json, batch, now).await?;
        }
        loop {
            let (xid, id) = cursor(cache, table).await?.unwrap_or((0, Uuid::nil()));
            let watermark = start_pull(&mut conn).await?;
            let read = read_changes(&mut conn, table, &json, (xid, id), watermark, batch).await;
            end_pull(&mut conn, read.is_ok()).await;
            let (rows, gone) = read?;
            if rows.is_empty() && gone.is_empty() {
                break;
            }
            let full = rows.len() as i64 == batch || gone.len() as i64 == batch;
            let last = rows
                .iter()
                .map(|r| (r.1, r.0))
                .chain(gone.iter().map(|&(id, xid)| (xid, id)))
                .max();
            apply(cache, table, &rows, &gone, last, now).await?;
            applied += (rows.len() + gone.len()) as u64;
            if !full {
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
    after: (i64, Uuid),
    watermark: i64,
    batch: i64,
) -> Result<(Vec<Row>, Vec<(Uuid, i64)>), SyncError> {
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
    let upto = rows.last().map(|r| (r.1, r.0));
    let mut gone: Vec<(Uuid, i64)> = sqlx::query_as(
        "SELECT row_id, change_xid::text::bigint FROM claimdesk.change_tombstone
         WHERE table_name = $1 AND (change_xid, row_id) > ($2::text::xid8, $3)
           AND change_xid < $4::text::xid8
         ORDER BY change_xid, row_id LIMIT $5",
    )
    .bind(table)
    .bind(after.0.to_string())
    .bind(after.1)
    .bind(watermark.to_string())
    .bind(batch)
    .fetch_all(&mut *conn)
    .await?;
    // Deletions past the last row read wait for the next round, so the
    // cursor never passes a change it has not applied.
    if let (Some(upto), true) = (upto, rows.len() as i64 == batch) {
        gone.retain(|&(id, xid)| (xid, id) <= upto);
    }
    Ok((rows, gone))
}

async fn cursor(cache: &Cache, table: &str) -> Result<Option<(i64, Uuid)>, CacheError> {
    let row: Option<(i64, Vec<u8>)> =
        sqlx::query_as("SELECT xid, id FROM sync_cursor WHERE source = ?")
            .bind(format!("ref.{table}"))
            .fetch_optional(cache.db())
            .await?;
    row.map(|(xid, id)| {
        Ok((
            xid,
            Uuid::from_slice(&id).map_err(|_| CryptoError::Malformed)?,
        ))
    })
    .transpose()
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
    gone: &[(Uuid, i64)],
    cursor_at: Option<(i64, Uuid)>,
    now: DateTime<Utc>,
) -> Result<(), SyncError> {
    let key = cache.key();
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
    for (id, _) in gone {
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
