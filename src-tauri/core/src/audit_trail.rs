//! Reading the audit trail: the supervisor's filtered, keyset-paged view,
//! one entry's detail, the per-member access report and the CSV export.
//! Reads go straight to central (supervisors watch other people's work as it
//! happens; none of this is cached on the desktop).

use chrono::{DateTime, Utc};
use futures_util::TryStreamExt;
use serde::{Deserialize, Serialize};
use sqlx::{PgConnection, Postgres, QueryBuilder};
use uuid::Uuid;

use crate::users::StaffRole;

/// What the trail is filtered by; every field given must match.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize, specta::Type)]
pub struct AuditFilter {
    /// The login that acted.
    pub user: Option<String>,
    /// The staff group it acted in.
    pub role: Option<StaffRole>,
    /// Whose PHI the event concerns.
    pub member_id: Option<Uuid>,
    /// A claim, or a row of it (lines, notes, documents, diagnoses).
    pub claim_id: Option<Uuid>,
    /// A provider, or a row of theirs (credentials, contracts).
    pub provider_id: Option<Uuid>,
    /// view, insert, update, delete, export, release, reassign, …
    pub action: Option<String>,
    /// Only events that read or wrote PHI.
    pub phi_only: bool,
    /// From this moment (inclusive).
    pub from: Option<DateTime<Utc>>,
    /// Until this moment (exclusive).
    pub to: Option<DateTime<Utc>>,
    /// Part of the client's description: application name, address, or
    /// what the client says of itself.
    pub client: Option<String>,
}

/// One event as the trail lists it (values are in [`AuditDetail`]).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, specta::Type, sqlx::FromRow)]
pub struct AuditEntry {
    /// Reading order; the page cursor.
    pub seq: i32,
    /// When (server clock).
    pub occurred_at: DateTime<Utc>,
    /// The login.
    pub db_user: String,
    /// Its staff group.
    pub db_role: String,
    /// What happened.
    pub action: String,
    /// To what kind of record.
    pub resource_type: String,
    /// Which.
    pub resource_id: Option<String>,
    /// Whose PHI.
    pub member_id: Option<Uuid>,
    /// Whether PHI was read or written.
    pub phi_accessed: bool,
    /// The client: application, address, self-description (JSON text).
    pub client_info: String,
}

/// One event with the values it changed (JSON text; the columns that
/// changed, before and after).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, specta::Type, sqlx::FromRow)]
pub struct AuditDetail {
    /// The event.
    #[sqlx(flatten)]
    pub entry: AuditEntry,
    /// Before.
    pub old_values: Option<String>,
    /// After.
    pub new_values: Option<String>,
    /// Its lane and place there (none before lanes).
    pub lane: Option<i16>,
    /// Its place in the lane.
    pub lane_seq: Option<i32>,
}

/// A page of the trail, newest first.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, specta::Type)]
pub struct AuditPage {
    /// The events.
    pub entries: Vec<AuditEntry>,
    /// Pass as `before` for the next (older) page; none at the end.
    pub next_before: Option<i32>,
}

/// Most events a page holds.
pub const PAGE_MAX: u32 = 500;

const ENTRY_COLUMNS: &str =
    "seq::int AS seq, occurred_at, db_user, db_role, action, resource_type, \
     resource_id, member_id, phi_accessed, client_info::text AS client_info";

/// Appends the filter's conditions (each bound, never spliced).
fn conditions<'a>(q: &mut QueryBuilder<'a, Postgres>, f: &'a AuditFilter) {
    q.push(" WHERE true");
    let text = |s: &'a Option<String>| s.as_deref().map(str::trim).filter(|s| !s.is_empty());
    if let Some(user) = text(&f.user) {
        q.push(" AND db_user = ").push_bind(user);
    }
    if let Some(role) = f.role {
        q.push(" AND db_role = ").push_bind(role.group());
    }
    if let Some(member) = f.member_id {
        q.push(" AND member_id = ").push_bind(member);
    }
    if let Some(claim) = f.claim_id {
        q.push(
            " AND claimdesk.audit_claim_of(resource_type, resource_id, old_values, new_values) = ",
        )
        .push_bind(claim.to_string());
    }
    if let Some(provider) = f.provider_id {
        q.push(" AND claimdesk.audit_provider_of(resource_type, resource_id, old_values, new_values) = ")
            .push_bind(provider.to_string());
    }
    if let Some(action) = text(&f.action) {
        q.push(" AND action = ").push_bind(action);
    }
    if f.phi_only {
        q.push(" AND phi_accessed");
    }
    if let Some(from) = f.from {
        q.push(" AND occurred_at >= ").push_bind(from);
    }
    if let Some(to) = f.to {
        q.push(" AND occurred_at < ").push_bind(to);
    }
    if let Some(client) = text(&f.client) {
        q.push(
            " AND concat_ws(' ', client_info ->> 'application_name', client_info ->> 'client_addr', \
             client_info ->> 'client') ILIKE '%' || ",
        )
        .push_bind(client.replace('\\', "\\\\").replace('%', "\\%").replace('_', "\\_"))
        .push(" || '%'");
    }
}

/// The newest events matching `filter` older than `before` (keyset: each
/// page starts where the last ended, so paging stays as quick at row
/// 4,000,000 as at row 1).
pub async fn page(
    conn: &mut PgConnection,
    filter: &AuditFilter,
    before: Option<i32>,
    limit: u32,
) -> Result<AuditPage, sqlx::Error> {
    let limit = limit.clamp(1, PAGE_MAX);
    let mut q = QueryBuilder::new(format!("SELECT {ENTRY_COLUMNS} FROM claimdesk.audit_log"));
    conditions(&mut q, filter);
    if let Some(before) = before {
        q.push(" AND seq < ").push_bind(i64::from(before));
    }
    q.push(" ORDER BY seq DESC LIMIT ")
        .push_bind(i64::from(limit) + 1);
    let mut entries: Vec<AuditEntry> = q.build_query_as().fetch_all(&mut *conn).await?;
    let more = entries.len() > limit as usize;
    entries.truncate(limit as usize);
    Ok(AuditPage {
        next_before: more.then(|| entries.last().map(|e| e.seq)).flatten(),
        entries,
    })
}

/// One event with its values.
pub async fn detail(conn: &mut PgConnection, seq: i32) -> Result<Option<AuditDetail>, sqlx::Error> {
    sqlx::query_as(&format!(
        "SELECT {ENTRY_COLUMNS}, old_values::text AS old_values, new_values::text AS new_values, \
         lane, lane_seq::int AS lane_seq FROM claimdesk.audit_log WHERE seq = $1"
    ))
    .bind(i64::from(seq))
    .fetch_optional(conn)
    .await
}

/// One person's dealings with a member's data.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, specta::Type, sqlx::FromRow)]
pub struct MemberAccess {
    /// The login.
    pub db_user: String,
    /// Its staff group.
    pub db_role: String,
    /// Views of the member's records.
    pub views: i32,
    /// Changes to them (inserts, updates, deletes).
    pub changes: i32,
    /// Other events (exports, releases, …).
    pub other: i32,
    /// First event.
    pub first_at: DateTime<Utc>,
    /// Latest event.
    pub last_at: DateTime<Utc>,
}

/// Everyone who viewed or changed member `member`'s data, and when: one
/// row per person, latest first. The events themselves are the trail
/// filtered by the member.
pub async fn member_access(
    conn: &mut PgConnection,
    member: Uuid,
) -> Result<Vec<MemberAccess>, sqlx::Error> {
    sqlx::query_as(
        "SELECT db_user, db_role,
                (count(*) FILTER (WHERE action = 'view'))::int AS views,
                (count(*) FILTER (WHERE action IN ('insert', 'update', 'delete')))::int AS changes,
                (count(*) FILTER (WHERE action NOT IN ('view', 'insert', 'update', 'delete')))::int AS other,
                min(occurred_at) AS first_at, max(occurred_at) AS last_at
         FROM claimdesk.audit_log WHERE member_id = $1
         GROUP BY db_user, db_role ORDER BY max(occurred_at) DESC",
    )
    .bind(member)
    .fetch_all(conn)
    .await
}

/// The CSV header of an export.
pub const CSV_HEADER: [&str; 13] = [
    "seq",
    "occurred_at",
    "user",
    "role",
    "action",
    "resource_type",
    "resource_id",
    "member_id",
    "phi_accessed",
    "client",
    "old_values",
    "new_values",
    "row_hash",
];

/// Writes every event matching `filter`, oldest first, as CSV (values as
/// their JSON text, the row hash in hex so a copy can be checked against
/// the trail), streaming. Returns the rows written.
pub async fn export_csv<W: std::io::Write>(
    conn: &mut PgConnection,
    filter: &AuditFilter,
    out: W,
) -> Result<u64, ExportError> {
    let mut csv = csv::Writer::from_writer(out);
    csv.write_record(CSV_HEADER)?;
    let mut q = QueryBuilder::new(
        "SELECT seq, occurred_at, db_user, db_role, action, resource_type, resource_id, member_id, \
         phi_accessed, client_info::text, old_values::text, new_values::text, encode(row_hash, 'hex') \
         FROM claimdesk.audit_log",
    );
    conditions(&mut q, filter);
    q.push(" ORDER BY seq");
    type Row = (
        i64,
        DateTime<Utc>,
        String,
        String,
        String,
        String,
        Option<String>,
        Option<Uuid>,
        bool,
        String,
        Option<String>,
        Option<String>,
        String,
    );
    let mut rows = q.build_query_as::<Row>().fetch(&mut *conn);
    let mut written = 0;
    while let Some(r) = rows.try_next().await? {
        csv.write_record([
            r.0.to_string(),
            r.1.to_rfc3339_opts(chrono::SecondsFormat::Micros, true),
            r.2,
            r.3,
            r.4,
            r.5,
            r.6.unwrap_or_default(),
            r.7.map(|m| m.to_string()).unwrap_or_default(),
            r.8.to_string(),
            r.9,
            r.10.unwrap_or_default(),
            r.11.unwrap_or_default(),
            r.12,
        ])?;
        written += 1;
    }
    csv.flush().map_err(csv::Error::from)?;
    Ok(written)
}

/// Why an export failed.
#[derive(Debug, thiserror::Error)]
pub enum ExportError {
    /// Central failed or refused.
    #[error(transparent)]
    Central(#[from] sqlx::Error),
    /// The file could not be written.
    #[error("writing the export: {0}")]
    Write(#[from] csv::Error),
}

/// Records in the trail that the filtered trail was exported (itself an
/// auditable act): the filter, the rows and the file name.
pub async fn record_export(
    conn: &mut PgConnection,
    filter: &AuditFilter,
    rows: u64,
    file_name: &str,
) -> Result<(), sqlx::Error> {
    sqlx::query("SELECT claimdesk.record_audit_export($1, $2, $3, $4)")
        .bind(sqlx::types::Json(filter))
        .bind(i64::try_from(rows).unwrap_or(i64::MAX))
        .bind(file_name)
        .bind(filter.member_id)
        .execute(conn)
        .await?;
    Ok(())
}
