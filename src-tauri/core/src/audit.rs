//! The audit log's hash chain, verified independently of the database.
//!
//! The server computes each row's hash in `claimdesk.audit_row_hash`; this
//! module recomputes it from the stored columns, so a verifier does not have
//! to trust functions an attacker with owner rights could have replaced.

use chrono::{DateTime, Utc};
use futures_util::TryStreamExt;
use serde::Serialize;
use sha2::{Digest, Sha256};
use sqlx::PgConnection;
use uuid::Uuid;

/// One audit row as stored, with JSON columns in PostgreSQL's canonical text.
#[derive(Debug, Clone, sqlx::FromRow)]
pub struct AuditRow {
    /// Position in the chain, from 1, without gaps.
    pub seq: i64,
    /// When the event happened (server clock).
    pub occurred_at: DateTime<Utc>,
    /// The session's login role.
    pub db_user: String,
    /// The staff group it acted in.
    pub db_role: String,
    /// What happened: insert, update, delete, view, release, reassign, …
    pub action: String,
    /// The table or kind of thing acted on.
    pub resource_type: String,
    /// Its id.
    pub resource_id: Option<String>,
    /// Whose PHI the event concerns.
    pub member_id: Option<Uuid>,
    /// Whether PHI was read or written.
    pub phi_accessed: bool,
    /// Changed columns before (jsonb as text).
    pub old_values: Option<String>,
    /// Changed columns after (jsonb as text).
    pub new_values: Option<String>,
    /// Client information (jsonb as text).
    pub client_info: String,
    /// The previous row's hash (32 zero bytes for the first).
    pub prev_hash: Vec<u8>,
    /// This row's stored hash.
    pub row_hash: Vec<u8>,
}

/// The SQL that reads rows in the shape [`AuditRow`] expects.
pub const SELECT_ROWS: &str = "SELECT seq, occurred_at, db_user, db_role, action, resource_type, \
     resource_id, member_id, phi_accessed, old_values::text AS old_values, \
     new_values::text AS new_values, client_info::text AS client_info, prev_hash, row_hash \
     FROM claimdesk.audit_log";

/// The hash a row must have: SHA-256 over the previous hash and the
/// canonical content. Must match `claimdesk.audit_row_hash` byte for byte.
pub fn row_hash(prev_hash: &[u8], row: &AuditRow) -> [u8; 32] {
    const NULL: &str = "\\N";
    let member = row.member_id.map(|m| m.to_string());
    let fields = [
        row.seq.to_string(),
        row.occurred_at.format("%Y-%m-%dT%H:%M:%S%.6fZ").to_string(),
        row.db_user.clone(),
        row.db_role.clone(),
        row.action.clone(),
        row.resource_type.clone(),
        row.resource_id.clone().unwrap_or_else(|| NULL.into()),
        member.unwrap_or_else(|| NULL.into()),
        row.phi_accessed.to_string(),
        row.old_values.clone().unwrap_or_else(|| NULL.into()),
        row.new_values.clone().unwrap_or_else(|| NULL.into()),
        row.client_info.clone(),
    ];
    let mut hasher = Sha256::new();
    hasher.update(prev_hash);
    hasher.update(fields.join("\u{1f}").as_bytes());
    hasher.finalize().into()
}

/// Where and how the chain is broken.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, specta::Type)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum ChainBreak {
    /// A row is missing: the sequence jumps.
    Gap {
        /// The seq that should have come next.
        expected_seq: i32,
        /// The seq found instead.
        found_seq: i32,
    },
    /// The row does not link to the row before it (deleted or reordered rows).
    BrokenLink {
        /// The row whose prev_hash is wrong.
        seq: i32,
    },
    /// The row's content no longer matches its hash (an edit).
    ContentChanged {
        /// The edited row.
        seq: i32,
    },
    /// The chain head disagrees with the last row (rows cut from the end).
    HeadMismatch {
        /// The last seq the head recorded.
        head_seq: i32,
        /// The last seq found.
        last_seq: i32,
    },
}

/// Result of a verification run.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, specta::Type)]
pub struct ChainReport {
    /// Rows read.
    pub rows_checked: i32,
    /// The first break found, if any.
    pub first_break: Option<ChainBreak>,
}

/// Walks the whole chain in order and stops at the first break. Streams the
/// rows, so memory stays flat over millions of them.
pub async fn verify(conn: &mut PgConnection) -> Result<ChainReport, sqlx::Error> {
    let mut expected_prev = [0u8; 32].to_vec();
    let mut expected_seq: i64 = 1;
    let mut checked: i64 = 0;
    let first_break = {
        let sql = format!("{SELECT_ROWS} ORDER BY seq");
        let mut rows = sqlx::query_as::<_, AuditRow>(&sql).fetch(&mut *conn);
        let mut found = None;
        while let Some(row) = rows.try_next().await? {
            checked += 1;
            if row.seq != expected_seq {
                found = Some(ChainBreak::Gap {
                    expected_seq: clamp(expected_seq),
                    found_seq: clamp(row.seq),
                });
                break;
            }
            if row.prev_hash != expected_prev {
                found = Some(ChainBreak::BrokenLink {
                    seq: clamp(row.seq),
                });
                break;
            }
            if row_hash(&row.prev_hash, &row).as_slice() != row.row_hash.as_slice() {
                found = Some(ChainBreak::ContentChanged {
                    seq: clamp(row.seq),
                });
                break;
            }
            expected_prev = row.row_hash;
            expected_seq += 1;
        }
        found
    };
    let first_break = match first_break {
        Some(b) => Some(b),
        None => {
            let (head_seq, head_hash): (i64, Vec<u8>) =
                sqlx::query_as("SELECT last_seq, last_hash FROM claimdesk.audit_chain_head")
                    .fetch_one(&mut *conn)
                    .await?;
            (head_seq != expected_seq - 1 || head_hash != expected_prev).then_some(
                ChainBreak::HeadMismatch {
                    head_seq: clamp(head_seq),
                    last_seq: clamp(expected_seq - 1),
                },
            )
        }
    };
    Ok(ChainReport {
        rows_checked: clamp(checked),
        first_break,
    })
}

/// Seq numbers travel to the UI, whose numbers are f64; 2^31 rows is far
/// beyond any audit log this app will verify in one go.
fn clamp(v: i64) -> i32 {
    i32::try_from(v).unwrap_or(i32::MAX)
}
