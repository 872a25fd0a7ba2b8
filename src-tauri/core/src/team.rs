//! The supervisor's view of the team's work: who holds which claim and
//! since when (release and reassign through `claim_reassign`, audited
//! there), and the claims routed for approval above their adjudicator's
//! authority (approve or return through `claim_approve_routed`).

use chrono::{DateTime, NaiveDate, Utc};
use rust_decimal::Decimal;
use serde::Serialize;
use sqlx::PgConnection;
use uuid::Uuid;

/// A claim someone holds: a live lease.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, specta::Type, sqlx::FromRow)]
pub struct HeldClaim {
    /// The claim.
    pub claim_id: Uuid,
    /// Its number.
    pub claim_number: String,
    /// Who holds it.
    pub holder: String,
    /// Since when.
    pub leased_at: DateTime<Utc>,
    /// Until when, unless renewed.
    pub expires_at: DateTime<Utc>,
    /// Queue priority (1 urgent … 4 low).
    pub priority_rank: i16,
    /// Prompt-pay due date.
    pub prompt_pay_due: Option<NaiveDate>,
}

/// Every live lease, the longest held first.
pub async fn leases(
    conn: &mut PgConnection,
    now: DateTime<Utc>,
) -> Result<Vec<HeldClaim>, sqlx::Error> {
    sqlx::query_as(
        "SELECT q.claim_id, c.claim_number, q.lease_holder AS holder, q.leased_at,
                q.lease_expires_at AS expires_at, q.priority_rank, q.prompt_pay_due
         FROM claimdesk.queue_entry q JOIN claimdesk.claim c ON c.id = q.claim_id
         WHERE q.lease_holder IS NOT NULL AND q.lease_expires_at > $1
         ORDER BY q.leased_at, q.claim_id",
    )
    .bind(now)
    .fetch_all(conn)
    .await
}

/// Logins that can take a claim (adjudicators, supervisors included).
pub async fn adjudicators(conn: &mut PgConnection) -> Result<Vec<String>, sqlx::Error> {
    sqlx::query_scalar(
        "SELECT r.rolname::text FROM pg_roles r
         WHERE r.rolcanlogin AND pg_has_role(r.oid, 'claimdesk_adjudicator', 'MEMBER')
         ORDER BY 1",
    )
    .fetch_all(conn)
    .await
}

/// Moves a claim's lease to `to`, or back to the queue with `None`.
pub async fn reassign(
    conn: &mut PgConnection,
    claim: Uuid,
    to: Option<&str>,
) -> Result<(), sqlx::Error> {
    sqlx::query("SELECT claimdesk.claim_reassign($1, $2)")
        .bind(claim)
        .bind(to)
        .execute(conn)
        .await?;
    Ok(())
}

/// A claim decided above its adjudicator's authority, waiting for a supervisor.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, specta::Type, sqlx::FromRow)]
pub struct RoutedClaim {
    /// The claim.
    pub claim_id: Uuid,
    /// Its number.
    pub claim_number: String,
    /// approved or partially_approved.
    pub status: String,
    /// Billed.
    pub total_billed: Decimal,
    /// To be paid.
    pub total_paid: Option<Decimal>,
    /// Who decided it.
    pub adjudicated_by: Option<String>,
    /// When.
    pub adjudicated_at: Option<DateTime<Utc>>,
    /// Their authority limit, the amount that routed it.
    pub authority_limit: Option<Decimal>,
    /// Prompt-pay due date.
    pub prompt_pay_due: Option<NaiveDate>,
    /// The claim's version, for the decision.
    pub version: i32,
}

/// Claims waiting for approval, the oldest decision first.
pub async fn routed(conn: &mut PgConnection) -> Result<Vec<RoutedClaim>, sqlx::Error> {
    sqlx::query_as(
        "SELECT id AS claim_id, claim_number, status, total_billed, total_paid, adjudicated_by, adjudicated_at,
                CASE WHEN adjudicated_by IS NOT NULL THEN claimdesk.authority_limit_for(adjudicated_by) END AS authority_limit,
                prompt_pay_due, version
         FROM claimdesk.claim WHERE requires_approval AND approved_by IS NULL
         ORDER BY adjudicated_at NULLS LAST, claim_number",
    )
    .fetch_all(conn)
    .await
}

/// Approves a routed claim for payment, or returns it to review; the note
/// (required) goes on the claim.
pub async fn decide_routed(
    conn: &mut PgConnection,
    claim: Uuid,
    approve: bool,
    note: &str,
) -> Result<i32, sqlx::Error> {
    sqlx::query_scalar("SELECT claimdesk.claim_approve_routed($1, $2, $3)")
        .bind(claim)
        .bind(approve)
        .bind(note.trim())
        .fetch_one(conn)
        .await
}
