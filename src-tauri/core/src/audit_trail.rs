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
    // A bounded window with nothing more selective: read it through the
    // time index and sort the window by seq. Otherwise the planner walks
    // the whole trail backwards from today to reach an old window, not
    // knowing seq and time rise together (728 ms instead of a few; see
    // BENCHMARKS.md). `+ 0` keeps it off the seq index.
    let narrow_window = matches!(
        (filter.from, filter.to),
        (Some(from), Some(to)) if to - from <= chrono::Duration::days(62)
    );
    let selective = filter.user.is_some()
        || filter.role.is_some()
        || filter.member_id.is_some()
        || filter.claim_id.is_some()
        || filter.provider_id.is_some()
        || filter.action.is_some();
    q.push(if narrow_window && !selective {
        " ORDER BY audit_log.seq + 0 DESC LIMIT "
    } else {
        " ORDER BY audit_log.seq DESC LIMIT "
    })
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

/// A member as the access report names them. PHI: Debug shows the id only.
#[derive(Clone, PartialEq, Eq, Serialize, specta::Type, sqlx::FromRow)]
pub struct MemberRef {
    /// Id (what the trail records).
    pub id: Uuid,
    /// Member number.
    pub member_number: String,
    /// "Last, First".
    pub name: String,
    /// Date of birth, to tell namesakes apart.
    pub date_of_birth: chrono::NaiveDate,
}

impl std::fmt::Debug for MemberRef {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("MemberRef")
            .field("id", &self.id)
            .finish_non_exhaustive()
    }
}

/// The member with this member number, as row security lets the login
/// see them (restricted members: supervisors only).
pub async fn find_member(
    conn: &mut PgConnection,
    member_number: &str,
) -> Result<Option<MemberRef>, sqlx::Error> {
    sqlx::query_as(
        "SELECT id, member_number, last_name || ', ' || first_name AS name, date_of_birth
         FROM claimdesk.member WHERE member_number = $1",
    )
    .bind(member_number.trim())
    .fetch_optional(conn)
    .await
}

/// Records that the person looked at PHI through `what` (the access
/// report, an audit entry's values, an intake answer): a PHI view, of
/// member `member`'s records when it concerns one member.
pub async fn record_view(
    conn: &mut PgConnection,
    what: &str,
    resource_id: &str,
    member: Option<Uuid>,
) -> Result<(), sqlx::Error> {
    sqlx::query("SELECT claimdesk.record_phi_view($1, $2, $3)")
        .bind(what)
        .bind(resource_id)
        .bind(member)
        .execute(conn)
        .await?;
    Ok(())
}

/// Ids behind the numbers a person types into the trail's filter.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, specta::Type)]
pub struct Subjects {
    /// The member with the member number given.
    pub member_id: Option<Uuid>,
    /// The claim with the claim number given.
    pub claim_id: Option<Uuid>,
    /// The provider with the NPI given.
    pub provider_id: Option<Uuid>,
}

/// Looks up a member number, a claim number and an NPI (each optional) as
/// row security lets the login see them.
pub async fn resolve(
    conn: &mut PgConnection,
    member_number: Option<&str>,
    claim_number: Option<&str>,
    npi: Option<&str>,
) -> Result<Subjects, sqlx::Error> {
    let some = |s: Option<&str>| {
        s.map(str::trim)
            .filter(|s| !s.is_empty())
            .map(str::to_string)
    };
    let (member_id, claim_id, provider_id) = sqlx::query_as(
        "SELECT (SELECT id FROM claimdesk.member WHERE member_number = $1),
                (SELECT id FROM claimdesk.claim WHERE claim_number = $2),
                (SELECT id FROM claimdesk.provider WHERE npi = $3)",
    )
    .bind(some(member_number))
    .bind(some(claim_number))
    .bind(some(npi))
    .fetch_one(conn)
    .await?;
    Ok(Subjects {
        member_id,
        claim_id,
        provider_id,
    })
}
