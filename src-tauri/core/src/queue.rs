//! Listing the work queue: filters and keyset pagination in queue order
//! (priority, prompt-pay due date, received time, id). No OFFSET: every page
//! starts where the last one ended, so page 5,000 costs what page 1 costs.

use chrono::{DateTime, NaiveDate, Utc};
use rust_decimal::Decimal;
use serde::{Deserialize, Serialize};
use sqlx::{PgConnection, Postgres, QueryBuilder};
use uuid::Uuid;

/// Statuses of a claim in the queue: waiting on the team, or pended.
pub const OPEN_STATUSES: [&str; 4] = ["received", "in_review", "appealed", "pended"];

/// Which claims to list. Empty sets mean "any".
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, specta::Type)]
pub struct QueueFilter {
    /// Priorities (urgent, high, normal, low).
    pub priorities: Vec<String>,
    /// Statuses; defaults to the open ones when empty.
    pub statuses: Vec<String>,
    /// Claim types.
    pub claim_types: Vec<String>,
    /// Received on or before this date (age).
    pub received_before: Option<NaiveDate>,
    /// Prompt-pay due on or before this date ("due in 3 days").
    pub due_before: Option<NaiveDate>,
    /// Minimum billed.
    #[specta(type = Option<String>)]
    pub min_billed: Option<Decimal>,
    /// Maximum billed.
    #[specta(type = Option<String>)]
    pub max_billed: Option<Decimal>,
    /// Only suspected duplicates.
    pub duplicate_suspects: bool,
    /// Only claims with a risk flag.
    pub risk_flagged: bool,
    /// Only claims flagged for manual review.
    pub manual_review: bool,
    /// Only claims from excluded providers.
    pub excluded_providers: bool,
    /// Only claims leased to this login ("my claims").
    pub leased_to: Option<String>,
}

/// Where the previous page ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, specta::Type)]
pub struct QueueCursor {
    /// Priority rank (1 urgent … 4 low).
    pub priority_rank: i16,
    /// Due date.
    pub prompt_pay_due: NaiveDate,
    /// Received time.
    pub received_at: DateTime<Utc>,
    /// Claim id.
    pub id: Uuid,
}

/// One row of the queue table. No PHI: the member is shown once a claim is opened.
#[derive(Debug, Clone, PartialEq, Serialize, specta::Type, sqlx::FromRow)]
pub struct QueueRow {
    /// Claim id.
    pub id: Uuid,
    /// Claim type.
    pub claim_type: String,
    /// Status.
    pub status: String,
    /// Priority.
    pub priority: String,
    /// Priority rank, for the cursor.
    pub priority_rank: i16,
    /// Why the priority was given.
    #[specta(type = Vec<crate::priority::Reason>)]
    pub priority_reasons: serde_json::Value,
    /// Prompt-pay due date.
    pub prompt_pay_due: NaiveDate,
    /// Received.
    pub received_at: DateTime<Utc>,
    /// Billed.
    #[specta(type = String)]
    pub total_billed: Decimal,
    /// Who holds the lease, if anyone.
    pub lease_holder: Option<String>,
    /// Suspected duplicate of another claim.
    pub duplicate_suspect: bool,
    /// Risk severity, if flagged.
    pub risk_severity: Option<String>,
    /// The billing provider is excluded.
    pub provider_excluded: bool,
}

impl QueueRow {
    /// The cursor that continues after this row.
    pub fn cursor(&self) -> QueueCursor {
        QueueCursor {
            priority_rank: self.priority_rank,
            prompt_pay_due: self.prompt_pay_due,
            received_at: self.received_at,
            id: self.id,
        }
    }
}

/// Builds the page query; separate so tests can check it has no OFFSET.
pub fn page_query<'a>(
    filter: &'a QueueFilter,
    after: Option<QueueCursor>,
    limit: i64,
) -> QueryBuilder<'a, Postgres> {
    let mut q = QueryBuilder::new(
        "SELECT c.id, c.claim_type, c.status, c.priority, c.priority_rank, c.priority_reasons, c.prompt_pay_due,
                c.received_at, c.total_billed, CASE WHEN q.lease_expires_at > now() THEN q.lease_holder END AS lease_holder, c.suspected_duplicate_of IS NOT NULL AS duplicate_suspect,
                c.risk_severity, p.excluded AS provider_excluded
         FROM claimdesk.claim c JOIN claimdesk.provider p ON p.id = c.provider_id
         LEFT JOIN claimdesk.queue_entry q ON q.claim_id = c.id WHERE ",
    );
    if filter.statuses.is_empty() {
        q.push("c.status IN ('received', 'in_review', 'appealed', 'pended')");
    } else {
        q.push("c.status = ANY(")
            .push_bind(&filter.statuses)
            .push(")");
    }
    if !filter.priorities.is_empty() {
        q.push(" AND c.priority = ANY(")
            .push_bind(&filter.priorities)
            .push(")");
    }
    if !filter.claim_types.is_empty() {
        q.push(" AND c.claim_type = ANY(")
            .push_bind(&filter.claim_types)
            .push(")");
    }
    if let Some(d) = filter.received_before {
        q.push(" AND c.received_at < (")
            .push_bind(d)
            .push(" + 1)::timestamptz");
    }
    if let Some(d) = filter.due_before {
        q.push(" AND c.prompt_pay_due <= ").push_bind(d);
    }
    if let Some(v) = filter.min_billed {
        q.push(" AND c.total_billed >= ").push_bind(v);
    }
    if let Some(v) = filter.max_billed {
        q.push(" AND c.total_billed <= ").push_bind(v);
    }
    if filter.duplicate_suspects {
        q.push(" AND c.suspected_duplicate_of IS NOT NULL");
    }
    if filter.risk_flagged {
        q.push(" AND c.risk_severity IS NOT NULL");
    }
    if filter.manual_review {
        q.push(" AND c.manual_review");
    }
    if filter.excluded_providers {
        q.push(" AND p.excluded");
    }
    if let Some(login) = &filter.leased_to {
        q.push(" AND q.lease_expires_at > now() AND q.lease_holder = ")
            .push_bind(login);
    }
    if let Some(c) = after {
        q.push(" AND (c.priority_rank, c.prompt_pay_due, c.received_at, c.id) > (")
            .push_bind(c.priority_rank)
            .push(", ")
            .push_bind(c.prompt_pay_due)
            .push(", ")
            .push_bind(c.received_at)
            .push(", ")
            .push_bind(c.id)
            .push(")");
    }
    q.push(" ORDER BY c.priority_rank, c.prompt_pay_due, c.received_at, c.id LIMIT ")
        .push_bind(limit.clamp(1, 1_000));
    q
}

/// One page of the queue after `after` (the first page when `None`).
pub async fn list(
    conn: &mut PgConnection,
    filter: &QueueFilter,
    after: Option<QueueCursor>,
    limit: i64,
) -> Result<Vec<QueueRow>, sqlx::Error> {
    page_query(filter, after, limit)
        .build_query_as::<QueueRow>()
        .fetch_all(conn)
        .await
}

/// A claim leased to the caller by a checkout.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Checkout {
    /// The claim.
    pub claim_id: Uuid,
    /// Its version when leased.
    pub version: i32,
    /// When the lease runs out unless renewed.
    pub lease_expires_at: DateTime<Utc>,
}

/// Leases the next claim in queue order to the caller (`claim_checkout`).
/// Fails with CD007 (`QueueEmpty`) when nothing is waiting.
pub async fn checkout(conn: &mut PgConnection) -> Result<Checkout, sqlx::Error> {
    let (claim_id, version, lease_expires_at) = sqlx::query_as(
        "SELECT claim_id, version, lease_expires_at FROM claimdesk.claim_checkout()",
    )
    .fetch_one(conn)
    .await?;
    Ok(Checkout {
        claim_id,
        version,
        lease_expires_at,
    })
}

/// Gives a leased claim back to the queue (`claim_release`).
pub async fn release(conn: &mut PgConnection, claim: Uuid) -> Result<(), sqlx::Error> {
    sqlx::query("SELECT claimdesk.claim_release($1)")
        .bind(claim)
        .execute(conn)
        .await?;
    Ok(())
}

/// Renews the caller's lease on `claim` (`claim_heartbeat`); fails with
/// CD002 (`LeaseLost`) when the lease ran out or someone else holds it.
pub async fn heartbeat(conn: &mut PgConnection, claim: Uuid) -> Result<DateTime<Utc>, sqlx::Error> {
    sqlx::query_scalar("SELECT claimdesk.claim_heartbeat($1)")
        .bind(claim)
        .fetch_one(conn)
        .await
}

/// Leases a claim the person opened from the list (`claim_take`): free,
/// expired or already theirs; CD015 (`ClaimHeld`) while another holds it.
pub async fn take(conn: &mut PgConnection, claim: Uuid) -> Result<Checkout, sqlx::Error> {
    let (claim_id, version, lease_expires_at) =
        sqlx::query_as("SELECT claim_id, version, lease_expires_at FROM claimdesk.claim_take($1)")
            .bind(claim)
            .fetch_one(conn)
            .await?;
    Ok(Checkout {
        claim_id,
        version,
        lease_expires_at,
    })
}

/// A supervisor returns a pended claim to the queue with a note (`claim_lift_pend`).
pub async fn lift_pend(
    conn: &mut PgConnection,
    claim: Uuid,
    note: &str,
) -> Result<i32, sqlx::Error> {
    sqlx::query_scalar("SELECT claimdesk.claim_lift_pend($1, $2)")
        .bind(claim)
        .bind(note)
        .fetch_one(conn)
        .await
}

/// What one housekeeping pass did.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, serde::Deserialize)]
pub struct Housekeeping {
    /// Pended claims whose pend ended, back in the queue.
    pub pends_returned: i64,
    /// Open claims raised to the priority their due date demands.
    pub priorities_raised: i64,
}

/// One pass of the queue's time-driven work on `today`, in batches of
/// `batch` (`claim_housekeeping`); run it until it does nothing to catch up.
pub async fn housekeeping(
    conn: &mut PgConnection,
    today: chrono::NaiveDate,
    batch: i32,
) -> Result<Housekeeping, sqlx::Error> {
    let done: serde_json::Value = sqlx::query_scalar("SELECT claimdesk.claim_housekeeping($1, $2)")
        .bind(today)
        .bind(batch)
        .fetch_one(conn)
        .await?;
    Ok(serde_json::from_value(done).unwrap_or_default())
}

/// Schedules the housekeeping to run every minute inside central through
/// pg_cron, when the server loads it for this database; returns whether it
/// did. Without pg_cron, `claimdesk-admin housekeeping --watch` does the job.
pub async fn schedule_housekeeping(conn: &mut PgConnection) -> Result<bool, sqlx::Error> {
    let available: bool = sqlx::query_scalar(
        "SELECT coalesce(current_setting('cron.database_name', true) = current_database(), false)
                AND EXISTS (SELECT FROM pg_available_extensions WHERE name = 'pg_cron')",
    )
    .fetch_one(&mut *conn)
    .await?;
    if !available {
        return Ok(false);
    }
    sqlx::raw_sql("CREATE EXTENSION IF NOT EXISTS pg_cron")
        .execute(&mut *conn)
        .await?;
    // Scheduling under the same name replaces the job: running this again is harmless.
    sqlx::query(
        "SELECT cron.schedule('claimdesk-housekeeping', '* * * * *', 'SELECT claimdesk.claim_housekeeping()')",
    )
    .execute(&mut *conn)
    .await?;
    Ok(true)
}
