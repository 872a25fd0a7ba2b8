//! The adjudicator's moves that involve central and the cache together:
//! take the next claim (lease it, then open it like any claim) and give one
//! back. Online only: a lease is central's to grant.

use chrono::{DateTime, Utc};
use claimdesk_core::ErrorCode;
use sqlx::PgPool;
use uuid::Uuid;

use crate::detail::{self, OpenError, OpenedClaim};

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

/// Gives a claim the person holds back to the queue.
pub async fn release(central: &PgPool, claim: Uuid) -> Result<(), DeskError> {
    let mut conn = central.acquire().await?;
    claimdesk_core::queue::release(&mut conn, claim).await?;
    Ok(())
}
