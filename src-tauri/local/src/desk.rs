//! The adjudicator's moves: take the next claim (lease it, then open it like
//! any claim) and give one back, which need central (a lease is central's
//! to grant); and decide, which works offline through the outbox.

use chrono::{DateTime, Utc};
use claimdesk_core::ErrorCode;
use sqlx::PgPool;
use uuid::Uuid;

use claimdesk_core::decision::{self, DecisionInput, DecisionLine, DecisionProblem};

use crate::claim_view::ClaimView;
use crate::detail::{self, OpenError, OpenedClaim};
use crate::outbox::{self, LocalEffect, Mutation};

/// Why a desk move failed.
#[derive(Debug, thiserror::Error)]
pub enum DeskError {
    /// Central refused or did not answer (the caller maps it with its settings).
    #[error("central: {0}")]
    Central(#[from] sqlx::Error),
    /// The claim was leased but could not be opened.
    #[error(transparent)]
    Open(#[from] OpenError),
}

/// Leases the next claim in queue order and opens it (the view is audited).
pub async fn get_next(
    cache: &crate::cache::Cache,
    central: &PgPool,
    map_err: &(dyn Fn(sqlx::Error) -> ErrorCode + Send + Sync),
    now: DateTime<Utc>,
) -> Result<OpenedClaim, DeskError> {
    let mut conn = central.acquire().await?;
    let leased = claimdesk_core::queue::checkout(&mut conn).await?;
    drop(conn);
    Ok(detail::open_claim(cache, central, map_err, leased.claim_id, now).await?)
}

/// Takes a claim the person opened from the list (leases it, then opens it
/// again so the view carries the lease).
pub async fn take(
    cache: &crate::cache::Cache,
    central: &PgPool,
    map_err: &(dyn Fn(sqlx::Error) -> ErrorCode + Send + Sync),
    claim: Uuid,
    now: DateTime<Utc>,
) -> Result<OpenedClaim, DeskError> {
    let mut conn = central.acquire().await?;
    claimdesk_core::queue::take(&mut conn, claim).await?;
    drop(conn);
    Ok(detail::open_claim(cache, central, map_err, claim, now).await?)
}

/// Renews the person's lease on a claim they have open; when it is already
/// gone, central says so (`LeaseLost`) and the desk tells the person.
pub async fn renew(central: &PgPool, claim: Uuid) -> Result<DateTime<Utc>, DeskError> {
    let mut conn = central.acquire().await?;
    Ok(claimdesk_core::queue::heartbeat(&mut conn, claim).await?)
}

/// Gives a claim the person holds back to the queue.
pub async fn release(central: &PgPool, claim: Uuid) -> Result<(), DeskError> {
    let mut conn = central.acquire().await?;
    claimdesk_core::queue::release(&mut conn, claim).await?;
    Ok(())
}

/// Why a decision was not queued.
#[derive(Debug, thiserror::Error)]
pub enum DecideError {
    /// Something the person must add or change first.
    #[error(transparent)]
    Problem(#[from] DecisionProblem),
    /// The claim is not stored here (open it first).
    #[error("the claim is not stored on this computer")]
    NotStored,
    /// The stored record could not be read or priced.
    #[error("the stored claim could not be priced")]
    Unpriced,
    /// The cache failed.
    #[error(transparent)]
    Cache(#[from] crate::cache::CacheError),
}

impl From<OpenError> for DecideError {
    fn from(e: OpenError) -> Self {
        match e {
            OpenError::Cache(e) => Self::Cache(e),
            _ => Self::NotStored,
        }
    }
}

/// Queues a decision on claim `id`, seen at `version`, priced from the
/// stored record (what the person was shown, or newer), with its local effect in the
/// same transaction: decided claims leave the cached queue, pended ones
/// change status. Works offline; the outbox sends it once central answers.
/// Returns the outbox key.
pub async fn decide(
    cache: &crate::cache::Cache,
    id: Uuid,
    version: i64,
    input: &DecisionInput,
    key: Uuid,
    now: DateTime<Utc>,
) -> Result<Vec<DecisionLine>, DecideError> {
    let opened = detail::stored(cache, id)
        .await?
        .ok_or(DecideError::NotStored)?;
    // A version older than the stored one is still queued: central refuses
    // it, and the conflict shows the person both versions (never dropped).
    let view = ClaimView::from_opened(&opened).map_err(|_| DecideError::Unpriced)?;
    let priced = view.pricing.ok_or(DecideError::Unpriced)?;
    let lists = crate::codes::load(cache).await?;
    let lines = decision::build(&priced.adjudication, input, &lists, priced.room())?;
    let mutation = Mutation::Decide {
        claim_id: id,
        version: i32::try_from(version).map_err(|_| DecideError::Unpriced)?,
        decision: input.kind.as_central().to_string(),
        lines: serde_json::to_value(&lines).expect("decision lines serialise"),
        denial_group_code: input.denial_group_code.clone(),
        denial_carc: input.denial_carc.clone(),
        explanation: input
            .explanation
            .as_deref()
            .map(str::trim)
            .filter(|e| !e.is_empty())
            .map(str::to_owned),
        pend_reason: input.pend_reason.clone(),
        override_reason: input
            .override_reason
            .as_deref()
            .map(str::trim)
            .filter(|r| !r.is_empty())
            .map(str::to_owned),
        priced_against: (!input.kind.keeps_claim_open()).then(|| priced.priced_against()),
    };
    let effect = if input.kind.keeps_claim_open() {
        LocalEffect::SetStatus("pended")
    } else {
        LocalEffect::LeaveQueue
    };
    outbox::enqueue(cache, key, &mutation, effect, now).await?;
    Ok(lines)
}
