//! The queue as the adjudicator's table shows it: pages of the cached queue
//! in queue order, narrowed by a saved view, with aging, prompt-pay interest
//! and flags worked out here.
//!
//! A row carries no member PHI (no name, no date of birth, no member id):
//! the member is shown once the claim is opened, and that view is audited.
//! A priority reason that names a diagnosis is shown by rule only.

use std::collections::HashSet;

use chrono::{NaiveDate, Utc};
use claimdesk_core::aging::{self, AgingBand};
use claimdesk_core::priority::Reason;
use rust_decimal::Decimal;
use serde::{Deserialize, Serialize};
use uuid::Uuid;

use crate::cache::{Cache, CacheError, QueueClaim};

/// The saved views of the queue.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, specta::Type)]
#[serde(rename_all = "snake_case")]
pub enum QueueView {
    /// Every cached open claim.
    All,
    /// Priority urgent.
    Urgent,
    /// Due within [`aging::DUE_SOON_DAYS`] days, or overdue.
    DueSoon,
    /// Past the prompt-pay date.
    Overdue,
    /// Pended claims.
    Pended,
    /// Suspected duplicates, risk flags, excluded providers.
    Flagged,
}

/// One row of the queue table.
#[derive(Debug, Clone, PartialEq, Serialize, specta::Type)]
pub struct QueueRow {
    /// Claim id.
    pub id: Uuid,
    /// The payer's claim number.
    pub claim_number: String,
    /// professional, institutional, dental, pharmacy.
    pub claim_type: String,
    /// received, in_review, appealed, pended.
    pub status: String,
    /// urgent, high, normal, low.
    pub priority: String,
    /// Why; a reason naming a diagnosis keeps its rule and loses the code.
    pub reasons: Vec<Reason>,
    /// Received by the payer.
    pub received_on: NaiveDate,
    /// Prompt-pay due date.
    pub due: NaiveDate,
    /// Days to the due date (negative: overdue).
    pub days_to_due: i32,
    /// Aging band for the colour.
    pub aging: AgingBand,
    /// Interest owed if paid today (an upper bound: on the billed amount).
    #[specta(type = String)]
    pub interest_exposure: Decimal,
    /// Total billed.
    #[specta(type = String)]
    pub billed: Decimal,
    /// Suspected duplicate.
    pub duplicate_suspect: bool,
    /// Risk flag severity.
    pub risk_severity: Option<String>,
    /// Pended: why.
    pub pend_reason: Option<String>,
    /// Pended: the day the claim returns to the queue by itself.
    pub pend_until: Option<NaiveDate>,
    /// The billing provider is excluded (OIG, SAM, state list).
    pub provider_excluded: bool,
    /// A decision or note made here has not reached central yet.
    pub outbox_pending: bool,
}

/// The queue rows of `ids`, in that order (a search's results); claims no
/// longer cached are left out.
pub async fn rows_for(
    cache: &Cache,
    ids: &[Uuid],
    today: NaiveDate,
) -> Result<Vec<QueueRow>, CacheError> {
    let excluded = excluded_providers(cache).await?;
    let pending = crate::outbox::claims_with_entries(cache, false).await?;
    let mut rows = Vec::with_capacity(ids.len());
    for id in ids {
        if let Some(c) = cache.queue_claim(*id).await? {
            rows.push(row(c, today, &excluded, &pending));
        }
    }
    Ok(rows)
}

/// A page of the queue.
#[derive(Debug, Clone, PartialEq, Serialize, specta::Type)]
pub struct QueuePage {
    /// Rows in the view.
    pub total: u32,
    /// Where this page starts.
    pub offset: u32,
    /// The rows.
    pub rows: Vec<QueueRow>,
}

/// Rules whose detail names a diagnosis (PHI) rather than a date or amount.
const DIAGNOSIS_RULES: [&str; 1] = ["acute_diagnosis"];

fn masked(reasons: &serde_json::Value) -> Vec<Reason> {
    let Some(list) = reasons.as_array() else {
        return Vec::new();
    };
    list.iter()
        .filter_map(|r| {
            let rule = r.get("rule")?.as_str()?.to_string();
            let detail = if DIAGNOSIS_RULES.contains(&rule.as_str()) {
                "an acute diagnosis (shown in the claim)".to_string()
            } else {
                r.get("detail")?.as_str()?.to_string()
            };
            Some(Reason { rule, detail })
        })
        .collect()
}

/// Providers excluded from payment, from the cached reference records.
async fn excluded_providers(cache: &Cache) -> Result<HashSet<Uuid>, CacheError> {
    Ok(crate::reference::records(cache, "provider")
        .await?
        .into_iter()
        .filter(|(_, p)| p.get("excluded") == Some(&serde_json::Value::Bool(true)))
        .map(|(id, _)| id)
        .collect())
}

/// A page of `view`, `limit` rows from `offset`, as of `today`.
pub async fn page(
    cache: &Cache,
    view: QueueView,
    offset: u32,
    limit: u32,
    today: NaiveDate,
) -> Result<QueuePage, CacheError> {
    let excluded = excluded_providers(cache).await?;
    let soon = today + chrono::Duration::days(aging::DUE_SOON_DAYS);
    let (total, claims) = cache
        .queue_slice(
            |q| {
                match view {
                    QueueView::All => {}
                    QueueView::Urgent => {
                        q.push(" AND priority_rank = 1");
                    }
                    QueueView::DueSoon => {
                        q.push(" AND prompt_pay_due <= ").push_bind(soon.to_string());
                    }
                    QueueView::Overdue => {
                        q.push(" AND prompt_pay_due < ").push_bind(today.to_string());
                    }
                    QueueView::Pended => {
                        q.push(" AND status = 'pended'");
                    }
                    QueueView::Flagged => {
                        // SQLite accepts an empty IN list (false).
                        q.push(" AND (duplicate_suspect OR risk_severity IS NOT NULL OR provider_id IN (");
                        let mut list = q.separated(", ");
                        for id in &excluded {
                            list.push_bind(id.as_bytes().to_vec());
                        }
                        q.push("))");
                    }
                }
            },
            offset,
            limit,
        )
        .await?;
    let pending = crate::outbox::claims_with_entries(cache, false).await?;
    Ok(QueuePage {
        total: u32::try_from(total).unwrap_or(u32::MAX),
        offset,
        rows: claims
            .into_iter()
            .map(|c| row(c, today, &excluded, &pending))
            .collect(),
    })
}

fn row(
    c: QueueClaim,
    today: NaiveDate,
    excluded: &HashSet<Uuid>,
    pending: &HashSet<Uuid>,
) -> QueueRow {
    let (days_to_due, band) = aging::band(c.prompt_pay_due, today);
    QueueRow {
        id: c.id,
        claim_number: c.phi.claim_number.clone(),
        claim_type: c.claim_type,
        status: c.status,
        priority: c.priority,
        reasons: masked(&c.phi.priority_reasons),
        received_on: c.received_at.with_timezone(&Utc).date_naive(),
        due: c.prompt_pay_due,
        days_to_due: days_to_due.clamp(i32::MIN.into(), i32::MAX.into()) as i32,
        aging: band,
        interest_exposure: aging::interest_exposure(c.total_billed, c.prompt_pay_due, today),
        billed: c.total_billed,
        duplicate_suspect: c.duplicate_suspect,
        risk_severity: c.risk_severity,
        pend_reason: c.phi.pend_reason.clone(),
        pend_until: c.phi.pend_until,
        provider_excluded: excluded.contains(&c.provider_id),
        outbox_pending: pending.contains(&c.id),
    }
}
