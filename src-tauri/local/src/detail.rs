//! Opening a claim: the full record from central when it answers (stored,
//! sealed, so it opens offline next time), else the stored copy. Every
//! opening records a PHI-view event through the outbox, in the same local
//! transaction, so views made offline reach the audit trail too.

use chrono::{DateTime, Utc};
use claimdesk_core::ErrorCode;
use serde::Serialize;
use sqlx::PgPool;
use uuid::Uuid;

use crate::cache::{Cache, CacheError};
use crate::crypto::CryptoError;
use crate::outbox::{self, LocalEffect, Mutation};

/// A claim in full, as JSON from central: the claim, `lines`, `diagnoses`,
/// `notes`, `history`, `member`, `lease` (null when nobody holds it) and
/// `pricing` (see `pricing::PricingFacts`).
/// PHI throughout, so Debug is masked.
#[derive(Clone, PartialEq, Serialize)]
pub struct ClaimRecord(pub serde_json::Value);

impl std::fmt::Debug for ClaimRecord {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("ClaimRecord(***)")
    }
}

/// Where an opened claim came from.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Source {
    /// Fresh from central.
    Central,
    /// The copy stored here, fetched at that time (central did not answer).
    Stored(DateTime<Utc>),
}

/// An opened claim.
#[derive(Debug, Clone, PartialEq)]
pub struct OpenedClaim {
    /// Claim id.
    pub id: Uuid,
    /// Its version (decisions name it).
    pub version: i64,
    /// Whose claim.
    pub member_id: Uuid,
    /// The record.
    pub record: ClaimRecord,
    /// Where it came from.
    pub source: Source,
}

/// Why a claim did not open.
#[derive(Debug, thiserror::Error)]
pub enum OpenError {
    /// Central answered: no such claim, or not visible to this login.
    #[error("no such claim")]
    NotFound,
    /// Central is unreachable and this computer has no copy.
    #[error("the central server cannot be reached and this claim is not stored on this computer")]
    NotStored,
    /// Central refused for another reason.
    #[error("central refused: {0:?}")]
    Central(ErrorCode),
    /// The cache failed.
    #[error(transparent)]
    Cache(#[from] CacheError),
}

impl From<CryptoError> for OpenError {
    fn from(e: CryptoError) -> Self {
        Self::Cache(CacheError::Crypto(e))
    }
}

const RECORD_SQL: &str = "
SELECT c.version, c.member_id, jsonb_build_object(
    -- Money and units as decimal text: JSON numbers would pass through floats.
    'claim', to_jsonb(c) - 'change_xid' || jsonb_build_object(
        'total_billed', c.total_billed::text, 'total_allowed', c.total_allowed::text,
        'total_paid', c.total_paid::text, 'member_responsibility', c.member_responsibility::text,
        'priority_confidence', c.priority_confidence::text),
    'lines', (SELECT coalesce(jsonb_agg(to_jsonb(l) - 'change_xid' || jsonb_build_object(
                  'units', l.units::text, 'billed', l.billed::text, 'allowed', l.allowed::text,
                  'deductible', l.deductible::text, 'copay', l.copay::text,
                  'coinsurance', l.coinsurance::text, 'paid', l.paid::text)
              ORDER BY l.line_number), '[]')
              FROM claimdesk.claim_line l WHERE l.claim_id = c.id),
    'diagnoses', (SELECT coalesce(jsonb_agg(jsonb_build_object('sequence', d.sequence, 'icd10_code', d.icd10_code)
                                            ORDER BY d.sequence), '[]')
                  FROM claimdesk.claim_diagnosis d WHERE d.claim_id = c.id),
    'notes', (SELECT coalesce(jsonb_agg(jsonb_build_object('author', n.author, 'body', n.body, 'at', n.created_at)
                                        ORDER BY n.created_at), '[]')
              FROM claimdesk.claim_note n WHERE n.claim_id = c.id),
    'history', (SELECT coalesce(jsonb_agg(jsonb_build_object('from', h.from_status, 'to', h.to_status,
                                                             'by', h.changed_by, 'at', h.changed_at, 'reason', h.reason)
                                          ORDER BY h.changed_at), '[]')
                FROM claimdesk.claim_status_history h WHERE h.claim_id = c.id),
    'member', (SELECT jsonb_build_object('member_number', m.member_number, 'first_name', m.first_name,
                                         'middle_name', m.middle_name, 'last_name', m.last_name,
                                         'date_of_birth', m.date_of_birth, 'gender', m.gender,
                                         'relationship', m.relationship, 'ssn_last4', m.ssn_last4,
                                         'address_line1', m.address_line1, 'address_line2', m.address_line2,
                                         'city', m.city, 'state', m.state, 'postal_code', m.postal_code,
                                         'phone', m.phone, 'status', m.status)
               FROM claimdesk.member m WHERE m.id = c.member_id),
    'lease', (SELECT jsonb_build_object('holder', q.lease_holder, 'expires_at', q.lease_expires_at)
              FROM claimdesk.queue_entry q WHERE q.claim_id = c.id AND q.lease_holder IS NOT NULL),
    'documents', (SELECT coalesce(jsonb_agg(jsonb_build_object(
                      'id', d.id, 'document_type', d.document_type, 'file_name', d.file_name,
                      'mime_type', d.mime_type, 'size_bytes', d.size_bytes, 'page_count', d.page_count,
                      -- pages separated by form feeds; searched in the viewer
                      'ocr_text', d.ocr_text, 'ocr_confidence', d.ocr_confidence::text,
                      'uploaded_by', d.uploaded_by, 'uploaded_at', d.uploaded_at) ORDER BY d.uploaded_at), '[]')
                  FROM claimdesk.document d WHERE d.claim_id = c.id),
    'pricing', claimdesk.claim_pricing_facts(c.id))
FROM claimdesk.claim c WHERE c.id = $1";

/// Central's current record of claim `id`. None when it does not exist or
/// this login may not see it.
pub(crate) async fn fetch_record(
    central: &PgPool,
    id: Uuid,
) -> Result<Option<OpenedClaim>, sqlx::Error> {
    let row: Option<(i32, Uuid, serde_json::Value)> = sqlx::query_as(RECORD_SQL)
        .bind(id)
        .fetch_optional(central)
        .await?;
    Ok(row.map(|(version, member_id, record)| OpenedClaim {
        id,
        version: version.into(),
        member_id,
        record: ClaimRecord(record),
        source: Source::Central,
    }))
}

/// Opens claim `id` for the person: from central if it answers, else the
/// stored copy; records the view either way.
pub async fn open_claim(
    cache: &Cache,
    central: &PgPool,
    map_err: &(dyn Fn(sqlx::Error) -> ErrorCode + Send + Sync),
    id: Uuid,
    now: DateTime<Utc>,
) -> Result<OpenedClaim, OpenError> {
    let opened = match fetch_record(central, id).await {
        Ok(Some(opened)) => {
            store_and_record_view(cache, &opened, now).await?;
            return Ok(opened);
        }
        Ok(None) => return Err(OpenError::NotFound),
        Err(e) => match map_err(e) {
            ErrorCode::ServerUnreachable | ErrorCode::ServerBusy => stored(cache, id).await?,
            code => return Err(OpenError::Central(code)),
        },
    };
    view_stored(cache, opened, now).await
}

/// Opens claim `id` from this computer's copy without asking central (the
/// sync engine already knows central is unreachable, so a connection
/// attempt would only make the person wait); records the view.
pub async fn open_stored(
    cache: &Cache,
    id: Uuid,
    now: DateTime<Utc>,
) -> Result<OpenedClaim, OpenError> {
    let opened = stored(cache, id).await?;
    view_stored(cache, opened, now).await
}

async fn view_stored(
    cache: &Cache,
    opened: Option<OpenedClaim>,
    now: DateTime<Utc>,
) -> Result<OpenedClaim, OpenError> {
    let opened = opened.ok_or(OpenError::NotStored)?;
    outbox::enqueue(
        cache,
        Uuid::now_v7(),
        &view_of(&opened, now),
        LocalEffect::None,
        now,
    )
    .await?;
    Ok(opened)
}

fn view_of(opened: &OpenedClaim, now: DateTime<Utc>) -> Mutation {
    Mutation::PhiView {
        resource_type: "claim".into(),
        resource_id: opened.id.to_string(),
        member_id: Some(opened.member_id),
        viewed_at: now,
    }
}

/// Stores the record and queues the view, in one local transaction.
async fn store_and_record_view(
    cache: &Cache,
    opened: &OpenedClaim,
    now: DateTime<Utc>,
) -> Result<(), OpenError> {
    let key = cache.sealing_key().await;
    let view = view_of(opened, now);
    let mut tx = cache.db().begin().await.map_err(CacheError::from)?;
    store_in(&mut tx, &key, opened, now)
        .await
        .map_err(CacheError::from)?;
    outbox::enqueue_in(&mut tx, &key, Uuid::now_v7(), &view, now)
        .await
        .map_err(CacheError::from)?;
    tx.commit().await.map_err(CacheError::from)?;
    Ok(())
}

/// Writes a claim's record into `claim_detail`, sealed.
async fn store_in(
    tx: &mut sqlx::SqliteConnection,
    key: &crate::crypto::DataKey,
    opened: &OpenedClaim,
    now: DateTime<Utc>,
) -> Result<(), sqlx::Error> {
    let plain =
        zeroize::Zeroizing::new(serde_json::to_vec(&opened.record.0).expect("JSON serialises"));
    sqlx::query(
        "INSERT INTO claim_detail (id, version, member_id, fetched_at, key_id, sealed) VALUES (?, ?, ?, ?, ?, ?)
         ON CONFLICT (id) DO UPDATE SET version = excluded.version, member_id = excluded.member_id,
             fetched_at = excluded.fetched_at, key_id = excluded.key_id, sealed = excluded.sealed",
    )
    .bind(opened.id.as_bytes().as_slice())
    .bind(opened.version)
    .bind(opened.member_id.as_bytes().as_slice())
    .bind(now.to_rfc3339())
    .bind(key.id().0)
    .bind(key.seal("claim_detail", opened.id, &plain))
    .execute(&mut *tx)
    .await?;
    Ok(())
}

/// How long a claim opened here but no longer leased by this person stays
/// stored: long enough to reopen it after a dropped connection the same
/// day, short enough that PHI does not pile up on a laptop.
pub const UNLEASED_RETENTION: chrono::Duration = chrono::Duration::hours(24);

/// What [`keep_leased`] did.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct LeasedReport {
    /// Claims this person holds a live lease on.
    pub leased: u64,
    /// Of those, records fetched (new, or changed on central).
    pub fetched: u64,
    /// Stored records let go (not leased, older than the retention).
    pub pruned: u64,
}

/// Keeps the person's leased claims stored in full, so they open and can
/// be decided offline: fetches each one that is missing or older than
/// central's version, and lets go of unleased ones past
/// [`UNLEASED_RETENTION`]. A prefetch is not a view, so no audit event; the
/// view is recorded when the person opens the claim. Claims with unsent
/// local writes are left alone either way.
pub async fn keep_leased(
    cache: &Cache,
    central: &PgPool,
    now: DateTime<Utc>,
) -> Result<LeasedReport, crate::sync::SyncError> {
    let leased: Vec<(Uuid, i32)> = sqlx::query_as(
        "SELECT q.claim_id, c.version FROM claimdesk.queue_entry q
         JOIN claimdesk.claim c ON c.id = q.claim_id
         WHERE q.lease_holder = session_user AND q.lease_expires_at > now()",
    )
    .fetch_all(central)
    .await?;
    let stored: Vec<(Vec<u8>, i64, String)> =
        sqlx::query_as("SELECT id, version, fetched_at FROM claim_detail")
            .fetch_all(cache.db())
            .await
            .map_err(CacheError::from)?;
    let stored: std::collections::HashMap<Uuid, (i64, String)> = stored
        .into_iter()
        .filter_map(|(id, v, at)| Some((Uuid::from_slice(&id).ok()?, (v, at))))
        .collect();
    let held = outbox::claims_with_entries(cache, false).await?;
    let mut report = LeasedReport {
        leased: leased.len() as u64,
        ..LeasedReport::default()
    };
    for &(id, version) in &leased {
        let current = stored
            .get(&id)
            .is_some_and(|(v, _)| *v >= i64::from(version));
        if current || held.contains(&id) {
            continue;
        }
        let Some(opened) = fetch_record(central, id).await? else {
            continue;
        };
        let key = cache.sealing_key().await;
        let mut tx = cache.db().begin().await.map_err(CacheError::from)?;
        store_in(&mut tx, &key, &opened, now)
            .await
            .map_err(CacheError::from)?;
        tx.commit().await.map_err(CacheError::from)?;
        report.fetched += 1;
    }
    let leased: std::collections::HashSet<Uuid> = leased.iter().map(|(id, _)| *id).collect();
    let cutoff = now - UNLEASED_RETENTION;
    let stale: Vec<Uuid> = stored
        .iter()
        .filter(|(id, (_, at))| {
            !leased.contains(id)
                && !held.contains(id)
                && at.parse::<DateTime<Utc>>().map_or(true, |at| at < cutoff)
        })
        .map(|(id, _)| *id)
        .collect();
    if !stale.is_empty() {
        let mut tx = cache.db().begin().await.map_err(CacheError::from)?;
        for id in &stale {
            sqlx::query("DELETE FROM claim_detail WHERE id = ?")
                .bind(id.as_bytes().as_slice())
                .execute(&mut *tx)
                .await
                .map_err(CacheError::from)?;
        }
        tx.commit().await.map_err(CacheError::from)?;
        report.pruned = stale.len() as u64;
    }
    Ok(report)
}

/// The stored copy of a claim, if this computer has one.
pub(crate) async fn stored(cache: &Cache, id: Uuid) -> Result<Option<OpenedClaim>, OpenError> {
    let row: Option<(i64, Vec<u8>, String, Vec<u8>)> = sqlx::query_as(
        "SELECT version, member_id, fetched_at, sealed FROM claim_detail WHERE id = ?",
    )
    .bind(id.as_bytes().as_slice())
    .fetch_optional(cache.db())
    .await
    .map_err(CacheError::from)?;
    let Some((version, member, fetched_at, sealed)) = row else {
        return Ok(None);
    };
    let plain =
        zeroize::Zeroizing::new(cache.key_for(&sealed)?.open("claim_detail", id, &sealed)?);
    Ok(Some(OpenedClaim {
        id,
        version,
        member_id: Uuid::from_slice(&member).map_err(|_| CryptoError::Malformed)?,
        record: ClaimRecord(serde_json::from_slice(&plain).map_err(|_| CryptoError::Tampered)?),
        source: Source::Stored(fetched_at.parse().map_err(|_| CryptoError::Malformed)?),
    }))
}
