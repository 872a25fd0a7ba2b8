//! Supervisor commands: the audit trail (pages, an entry's values, chain
//! verification, the per-member access report, CSV export), the team's
//! leases and routed claims, and the 837 files received. Thin: the work
//! is in `claimdesk_core::audit` and `claimdesk_core::audit_trail`; reads go
//! to central live.

use chrono::{Local, Utc};
use claimdesk_core::audit::{self, ChainReport};
use claimdesk_core::audit_trail::{
    self, AuditDetail, AuditFilter, AuditPage, MemberAccess, MemberRef,
};
use claimdesk_core::ErrorCode;
use claimdesk_core::{dashboard, intake_batches, team};
use claimdesk_local::documents::{create_private, unique_path};
use serde::Serialize;
use tauri::State;
use uuid::Uuid;

use crate::commands::desk;
use crate::error::CommandError;
use crate::state::AppState;

/// A page of the audit trail, newest first; `before` continues from the
/// last page's end.
#[tauri::command]
#[specta::specta]
pub async fn audit_page(
    state: State<'_, AppState>,
    filter: AuditFilter,
    before: Option<i32>,
    limit: u32,
) -> Result<AuditPage, CommandError> {
    desk(&state)
        .await?
        .on_central(async |conn| audit_trail::page(conn, &filter, before, limit).await)
        .await
}

/// One event with the values it changed. When it concerns a member, the
/// look is recorded as a view of their PHI.
#[tauri::command]
#[specta::specta]
pub async fn audit_entry(
    state: State<'_, AppState>,
    seq: i32,
) -> Result<AuditDetail, CommandError> {
    desk(&state)
        .await?
        .on_central(async |conn| {
            let detail = audit_trail::detail(&mut *conn, seq).await?;
            if let Some(member) = detail.as_ref().and_then(|d| d.entry.member_id) {
                audit_trail::record_view(conn, "audit_log", &seq.to_string(), Some(member)).await?;
            }
            Ok(detail)
        })
        .await?
        .ok_or_else(|| CommandError::new(ErrorCode::NotFound, "No such event in the trail."))
}

/// Walks the whole chain (every lane) and reports the first break.
#[tauri::command]
#[specta::specta]
pub async fn verify_audit_chain(state: State<'_, AppState>) -> Result<ChainCheck, CommandError> {
    let desk = desk(&state).await?;
    let started = std::time::Instant::now();
    // Two runs at once: the session's pool keeps connections for the rest.
    let report = audit::verify_parallel(desk.central.pool(), 2)
        .await
        .map_err(|e| desk.central_error(e))?;
    tracing::info!(
        rows = report.rows_checked,
        broken = report.first_break.is_some(),
        ms = started.elapsed().as_millis(),
        "audit chain verified"
    );
    Ok(ChainCheck {
        report,
        checked_at: Utc::now(),
        millis: u32::try_from(started.elapsed().as_millis()).unwrap_or(u32::MAX),
    })
}

/// A verification's answer, with when and how long.
#[derive(Debug, Clone, Serialize, specta::Type)]
pub struct ChainCheck {
    /// Rows read and the first break.
    pub report: ChainReport,
    /// When it finished.
    pub checked_at: chrono::DateTime<Utc>,
    /// How long it took.
    pub millis: u32,
}

/// The member with this member number, for the access report. Showing who
/// they are is a view of their PHI, and recorded as one.
#[tauri::command]
#[specta::specta]
pub async fn find_member(
    state: State<'_, AppState>,
    member_number: String,
) -> Result<MemberRef, CommandError> {
    desk(&state)
        .await?
        .on_central(async |conn| {
            let member = audit_trail::find_member(&mut *conn, &member_number).await?;
            if let Some(m) = &member {
                audit_trail::record_view(conn, "member", &m.id.to_string(), Some(m.id)).await?;
            }
            Ok(member)
        })
        .await?
        .ok_or_else(|| {
            CommandError::new(
                ErrorCode::NotFound,
                "No member has that number (or the member is not visible to you).",
            )
        })
}

/// The ids behind a member number, a claim number and an NPI typed into
/// the trail's filter; a number that matches nothing is an error naming it.
#[tauri::command]
#[specta::specta]
pub async fn resolve_audit_subjects(
    state: State<'_, AppState>,
    member_number: Option<String>,
    claim_number: Option<String>,
    npi: Option<String>,
) -> Result<audit_trail::Subjects, CommandError> {
    let found = desk(&state)
        .await?
        .on_central(async |conn| {
            audit_trail::resolve(
                conn,
                member_number.as_deref(),
                claim_number.as_deref(),
                npi.as_deref(),
            )
            .await
        })
        .await?;
    let asked = |s: &Option<String>| s.as_deref().is_some_and(|s| !s.trim().is_empty());
    let missing = [
        (
            asked(&member_number) && found.member_id.is_none(),
            "member number",
        ),
        (
            asked(&claim_number) && found.claim_id.is_none(),
            "claim number",
        ),
        (asked(&npi) && found.provider_id.is_none(), "NPI"),
    ];
    if let Some((_, what)) = missing.iter().find(|(m, _)| *m) {
        return Err(CommandError::new(
            ErrorCode::NotFound,
            format!("No record has that {what} (or it is not visible to you)."),
        ));
    }
    Ok(found)
}

/// Everyone who viewed or changed the member's data, and when. Recorded as
/// a view of the member's PHI trail.
#[tauri::command]
#[specta::specta]
pub async fn member_access_report(
    state: State<'_, AppState>,
    member_id: Uuid,
) -> Result<Vec<MemberAccess>, CommandError> {
    desk(&state)
        .await?
        .on_central(async |conn| {
            let report = audit_trail::member_access(&mut *conn, member_id).await?;
            audit_trail::record_view(
                conn,
                "access_report",
                &member_id.to_string(),
                Some(member_id),
            )
            .await?;
            Ok(report)
        })
        .await
}

/// Where an export went.
#[derive(Debug, Clone, Serialize, specta::Type)]
pub struct AuditExport {
    /// The file written (readable by this user only).
    pub path: String,
    /// Events in it.
    pub rows: u32,
}

/// Writes the filtered trail as CSV into the downloads folder and records
/// the export in the trail.
#[tauri::command]
#[specta::specta]
pub async fn export_audit(
    state: State<'_, AppState>,
    filter: AuditFilter,
) -> Result<AuditExport, CommandError> {
    let desk = desk(&state).await?;
    let folder = state.dirs.exports.clone();
    let written = |e: std::io::Error| {
        tracing::error!(error = %e, "audit export failed");
        CommandError::new(
            ErrorCode::Internal,
            "The export could not be written to your downloads folder. Details are in the log.",
        )
    };
    std::fs::create_dir_all(&folder).map_err(written)?;
    let name = format!("audit-trail-{}.csv", Utc::now().format("%Y%m%d-%H%M%S"));
    let path = unique_path(&folder, &name);
    let file = create_private(&path).map_err(written)?;
    let mut conn = desk.connection().await?;
    let result = audit_trail::export_csv(&mut conn, &filter, std::io::BufWriter::new(file)).await;
    let rows = match result {
        Ok(rows) => rows,
        Err(e) => {
            // Half a file is no export.
            let _ = std::fs::remove_file(&path);
            return Err(match e {
                audit_trail::ExportError::Central(e) => desk.central_error(e),
                audit_trail::ExportError::Write(e) => written(std::io::Error::other(e)),
            });
        }
    };
    let file_name = path
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default();
    audit_trail::record_export(&mut conn, &filter, rows, &file_name)
        .await
        .map_err(|e| {
            let _ = std::fs::remove_file(&path);
            desk.central_error(e)
        })?;
    Ok(AuditExport {
        path: path.display().to_string(),
        rows: u32::try_from(rows).unwrap_or(u32::MAX),
    })
}

/// The team dashboard over `span`, read live from central; the desk's
/// calendar day decides what is past due.
#[tauri::command]
#[specta::specta]
pub async fn team_dashboard(
    state: State<'_, AppState>,
    span: dashboard::DashboardSpan,
) -> Result<dashboard::TeamDashboard, CommandError> {
    desk(&state)
        .await?
        .on_central(async |conn| {
            dashboard::team_dashboard(conn, Utc::now(), Local::now().date_naive(), span).await
        })
        .await
}

/// Every live lease: who holds which claim, since when.
#[tauri::command]
#[specta::specta]
pub async fn team_leases(state: State<'_, AppState>) -> Result<Vec<team::HeldClaim>, CommandError> {
    desk(&state)
        .await?
        .on_central(async |conn| team::leases(conn, Utc::now()).await)
        .await
}

/// Logins a claim can be given to.
#[tauri::command]
#[specta::specta]
pub async fn team_adjudicators(state: State<'_, AppState>) -> Result<Vec<String>, CommandError> {
    desk(&state)
        .await?
        .on_central(async |conn| team::adjudicators(conn).await)
        .await
}

/// Releases a held claim to the queue (`to` none) or gives it to another
/// adjudicator. Central records either in the audit trail.
#[tauri::command]
#[specta::specta]
pub async fn reassign_lease(
    state: State<'_, AppState>,
    claim_id: Uuid,
    to: Option<String>,
) -> Result<(), CommandError> {
    let to = to.as_deref().map(str::trim).filter(|t| !t.is_empty());
    desk(&state)
        .await?
        .on_central(async |conn| team::reassign(conn, claim_id, to).await)
        .await
}

/// Claims routed for approval above their adjudicator's authority.
#[tauri::command]
#[specta::specta]
pub async fn routed_claims(
    state: State<'_, AppState>,
) -> Result<Vec<team::RoutedClaim>, CommandError> {
    desk(&state)
        .await?
        .on_central(async |conn| team::routed(conn).await)
        .await
}

/// Approves a routed claim for payment, or returns it for review, with a
/// note (required) that goes on the claim.
#[tauri::command]
#[specta::specta]
pub async fn decide_routed(
    state: State<'_, AppState>,
    claim_id: Uuid,
    approve: bool,
    note: String,
) -> Result<i32, CommandError> {
    if note.trim().is_empty() {
        return Err(CommandError::new(
            ErrorCode::InvalidInput,
            "Write a note: it goes on the claim with your decision.",
        ));
    }
    desk(&state)
        .await?
        .on_central(async |conn| team::decide_routed(conn, claim_id, approve, &note).await)
        .await
}

/// Intake batches, newest first, continuing after `after`.
#[tauri::command]
#[specta::specta]
pub async fn intake_batches(
    state: State<'_, AppState>,
    after: Option<intake_batches::BatchCursor>,
    limit: u32,
) -> Result<intake_batches::IntakeBatchPage, CommandError> {
    desk(&state)
        .await?
        .on_central(async |conn| intake_batches::batches(conn, after, limit).await)
        .await
}

/// One batch: its interchanges, sets, rejected claims and answers.
#[tauri::command]
#[specta::specta]
pub async fn intake_batch(
    state: State<'_, AppState>,
    batch_id: Uuid,
) -> Result<intake_batches::IntakeBatchDetail, CommandError> {
    desk(&state)
        .await?
        .on_central(async |conn| intake_batches::batch_detail(conn, batch_id).await)
        .await?
        .ok_or_else(|| CommandError::new(ErrorCode::NotFound, "No such intake batch."))
}

/// A page of an answer's segments (recorded as a PHI view: a 277CA names
/// patients).
#[tauri::command]
#[specta::specta]
pub async fn intake_answer(
    state: State<'_, AppState>,
    answer_id: Uuid,
    from: u32,
    limit: u32,
) -> Result<intake_batches::Answer, CommandError> {
    desk(&state)
        .await?
        .on_central(async |conn| intake_batches::answer(conn, answer_id, from, limit).await)
        .await?
        .ok_or_else(|| CommandError::new(ErrorCode::NotFound, "No such answer."))
}
