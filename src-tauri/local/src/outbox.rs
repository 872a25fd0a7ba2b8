//! Mutations made on this desktop, queued until central confirms them.
//!
//! Each entry is written in the same local transaction as its local effect
//! (a decided claim leaves the cached queue at once), sealed like any PHI,
//! and keyed by a UUIDv7 that central applies exactly once
//! (`claimdesk.apply_mutation`). Entries go out in creation order. A cut
//! connection is retried on a timer with backoff; a refusal a person must
//! see (stale version, lost lease) becomes a conflict and stays until they
//! deal with it. Nothing is dropped silently.

use std::time::Duration;

use chrono::{DateTime, Utc};
use claimdesk_core::ErrorCode;
use serde::{Deserialize, Serialize};
use sqlx::PgPool;
use uuid::Uuid;

use crate::cache::{Cache, CacheError};
use crate::crypto::CryptoError;

/// One mutation. Masked in Debug: notes and explanations may carry PHI.
#[derive(Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum Mutation {
    /// A decision on a claim (see `claimdesk.claim_decide`).
    Decide {
        /// The claim.
        claim_id: Uuid,
        /// The version the decision was made on.
        version: i32,
        /// approve, partial, deny, pend, request_info.
        decision: String,
        /// The engine's per-line figures.
        lines: serde_json::Value,
        /// Denials: group code.
        denial_group_code: Option<String>,
        /// Denials: CARC.
        denial_carc: Option<String>,
        /// Justification or explanation.
        explanation: Option<String>,
        /// Pends: the reason code.
        pend_reason: Option<String>,
        /// Approvals over a held edit: why.
        #[serde(default)]
        override_reason: Option<String>,
        /// The accumulators and benefit usage the figures were priced
        /// against; central refuses the decision if its own have moved.
        #[serde(default)]
        priced_against: Option<serde_json::Value>,
    },
    /// A note on a claim.
    Note {
        /// The claim.
        claim_id: Uuid,
        /// The text.
        body: String,
    },
    /// Someone looked at PHI; recorded with the time they looked.
    PhiView {
        /// claim, member, document, …
        resource_type: String,
        /// Its id.
        resource_id: String,
        /// Whose data it was.
        member_id: Option<Uuid>,
        /// When they looked.
        viewed_at: DateTime<Utc>,
    },
    /// Someone saved a copy of PHI (a document) outside the app.
    PhiExport {
        /// document, …
        resource_type: String,
        /// Its id.
        resource_id: String,
        /// Whose data it was.
        member_id: Option<Uuid>,
        /// When they saved it.
        exported_at: DateTime<Utc>,
        /// The name the copy was saved under (no folder: that may name the person).
        file_name: String,
    },
    /// A file attached to a claim (see `claimdesk.claim_attach_document`).
    Attach {
        /// The claim.
        claim_id: Uuid,
        /// The document's id, chosen here so the UI can show it at once.
        document_id: Uuid,
        /// medical_record, correspondence, …
        document_type: String,
        /// The name the file had.
        file_name: String,
        /// application/pdf, image/png, image/jpeg or image/tiff.
        mime_type: String,
        /// The bytes; base64 in the payload, as central decodes it.
        #[serde(with = "base64_bytes")]
        content: Vec<u8>,
    },
}

/// Bytes as one base64 string: what `decode(…, 'base64')` reads on central.
mod base64_bytes {
    use base64::Engine as _;
    use serde::{Deserialize, Deserializer, Serializer};

    pub fn serialize<S: Serializer>(bytes: &[u8], s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(&base64::engine::general_purpose::STANDARD.encode(bytes))
    }

    pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<Vec<u8>, D::Error> {
        let text = <std::borrow::Cow<'de, str>>::deserialize(d)?;
        base64::engine::general_purpose::STANDARD
            .decode(text.as_bytes())
            .map_err(serde::de::Error::custom)
    }
}

impl std::fmt::Debug for Mutation {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "Mutation::{}(***)", self.kind())
    }
}

impl Mutation {
    /// The kind, as central names it.
    pub fn kind(&self) -> &'static str {
        match self {
            Self::Decide { .. } => "decide",
            Self::Note { .. } => "note",
            Self::PhiView { .. } => "phi_view",
            Self::PhiExport { .. } => "phi_export",
            Self::Attach { .. } => "attach",
        }
    }

    /// The claim it concerns, if any.
    pub fn claim_id(&self) -> Option<Uuid> {
        match self {
            Self::Decide { claim_id, .. }
            | Self::Note { claim_id, .. }
            | Self::Attach { claim_id, .. } => Some(*claim_id),
            Self::PhiView { .. } | Self::PhiExport { .. } => None,
        }
    }

    /// What central receives: the fields without the kind tag.
    fn payload(&self) -> serde_json::Value {
        let mut v = serde_json::to_value(self).expect("mutations serialise");
        if let Some(map) = v.as_object_mut() {
            map.remove("kind");
        }
        v
    }
}

/// An entry waiting in the outbox.
#[derive(Debug, Clone, PartialEq)]
pub struct OutboxEntry {
    /// The idempotency key (UUIDv7: sorts by creation).
    pub id: Uuid,
    /// The mutation, opened.
    pub mutation: Mutation,
    /// pending or conflict.
    pub state: String,
    /// Sends tried so far.
    pub attempts: i64,
    /// Not sent before this time (backoff after a failed send).
    pub next_attempt_at: DateTime<Utc>,
    /// The code of the last refusal or failure.
    pub last_error: Option<String>,
}

/// What a push did.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct PushReport {
    /// Confirmed by central (first arrival or a repeat).
    pub sent: u64,
    /// Of those, how many central had applied already (a retried send).
    pub repeats: u64,
    /// Refused for a reason the person must see.
    pub conflicts: u64,
    /// The push stopped on a transient failure; retry at this time.
    pub retry_at: Option<DateTime<Utc>>,
    /// Claims whose entries settled: fetch them again from central.
    pub settled_claims: Vec<Uuid>,
}

/// Backoff after `attempts` failed sends: 1 s doubling to 5 minutes.
pub fn backoff(attempts: i64) -> Duration {
    let secs = 1u64 << attempts.clamp(0, 9) as u32;
    Duration::from_secs(secs.min(300))
}

/// Codes after which the same send may succeed later without anyone acting.
fn transient(code: ErrorCode) -> bool {
    matches!(
        code,
        ErrorCode::ServerUnreachable
            | ErrorCode::ServerBusy
            | ErrorCode::Internal
            | ErrorCode::ServerError
    )
}

/// Local effects that go with a mutation, applied in its transaction.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LocalEffect {
    /// None (notes, PHI views).
    None,
    /// The claim left the open queue (approved, denied, …).
    LeaveQueue,
    /// The claim stays in the queue with a new status (pended).
    SetStatus(&'static str),
}

/// Queues a mutation with its local effect, in one local transaction.
pub async fn enqueue(
    cache: &Cache,
    id: Uuid,
    mutation: &Mutation,
    effect: LocalEffect,
    now: DateTime<Utc>,
) -> Result<(), CacheError> {
    let key = cache.sealing_key().await;
    let mut tx = cache.db().begin().await?;
    enqueue_in(&mut tx, &key, id, mutation, now).await?;
    if let Some(claim) = mutation.claim_id() {
        match effect {
            LocalEffect::None => {}
            LocalEffect::LeaveQueue => {
                sqlx::query("DELETE FROM queue_claim WHERE id = ?")
                    .bind(claim.as_bytes().as_slice())
                    .execute(&mut *tx)
                    .await?;
            }
            LocalEffect::SetStatus(status) => {
                sqlx::query("UPDATE queue_claim SET status = ? WHERE id = ?")
                    .bind(status)
                    .bind(claim.as_bytes().as_slice())
                    .execute(&mut *tx)
                    .await?;
            }
        }
    }
    tx.commit().await?;
    Ok(())
}

/// Writes an outbox entry inside the caller's local transaction, so it
/// lands with the caller's own writes or not at all.
pub(crate) async fn enqueue_in(
    tx: &mut sqlx::SqliteConnection,
    key: &crate::crypto::DataKey,
    id: Uuid,
    mutation: &Mutation,
    now: DateTime<Utc>,
) -> Result<(), sqlx::Error> {
    let plain = zeroize::Zeroizing::new(serde_json::to_vec(mutation).expect("mutations serialise"));
    sqlx::query(
        "INSERT INTO outbox (id, kind, claim_id, created_at, state, attempts, next_attempt_at, key_id, sealed)
         VALUES (?, ?, ?, ?, 'pending', 0, ?, ?, ?)",
    )
    .bind(id.as_bytes().as_slice())
    .bind(mutation.kind())
    .bind(mutation.claim_id().map(|c| c.as_bytes().to_vec()))
    .bind(now.to_rfc3339())
    .bind(now.to_rfc3339())
    .bind(key.id().0)
    .bind(key.seal("outbox", id, &plain))
    .execute(&mut *tx)
    .await?;
    Ok(())
}

/// Entries not yet confirmed, oldest first.
pub async fn entries(cache: &Cache) -> Result<Vec<OutboxEntry>, CacheError> {
    /// id, state, attempts, next_attempt_at, last_error, sealed
    type Row = (Vec<u8>, String, i64, String, Option<String>, Vec<u8>);
    let rows: Vec<Row> = sqlx::query_as(
        "SELECT id, state, attempts, next_attempt_at, last_error, sealed FROM outbox ORDER BY id",
    )
    .fetch_all(cache.db())
    .await?;
    rows.into_iter()
        .map(
            |(id, state, attempts, next_attempt_at, last_error, sealed)| {
                let id = Uuid::from_slice(&id).map_err(|_| CryptoError::Malformed)?;
                let plain =
                    zeroize::Zeroizing::new(cache.key_for(&sealed)?.open("outbox", id, &sealed)?);
                let mutation = serde_json::from_slice(&plain).map_err(|_| CryptoError::Tampered)?;
                Ok(OutboxEntry {
                    id,
                    mutation,
                    state,
                    attempts,
                    next_attempt_at: next_attempt_at
                        .parse()
                        .map_err(|_| CryptoError::Malformed)?,
                    last_error,
                })
            },
        )
        .collect()
}

/// Claims with outbox entries: only pending ones (`pending_only`), or
/// refused ones too.
pub(crate) async fn claims_with_entries(
    cache: &Cache,
    pending_only: bool,
) -> Result<std::collections::HashSet<Uuid>, CacheError> {
    let ids: Vec<Vec<u8>> = sqlx::query_scalar(
        "SELECT DISTINCT claim_id FROM outbox WHERE claim_id IS NOT NULL AND (state = 'pending' OR NOT ?)",
    )
    .bind(pending_only)
    .fetch_all(cache.db())
    .await?;
    Ok(ids
        .iter()
        .filter_map(|b| Uuid::from_slice(b).ok())
        .collect())
}

/// How many entries wait (pending and conflicts), for the status bar.
pub async fn depth(cache: &Cache) -> Result<i64, CacheError> {
    Ok(sqlx::query_scalar("SELECT count(*) FROM outbox")
        .fetch_one(cache.db())
        .await?)
}

/// Pending and conflicting entries, for the status bar.
pub async fn counts(cache: &Cache) -> Result<(i64, i64), CacheError> {
    Ok(sqlx::query_as(
        "SELECT count(*) FILTER (WHERE state = 'pending'), count(*) FILTER (WHERE state = 'conflict') FROM outbox",
    )
    .fetch_one(cache.db())
    .await?)
}

/// Central's side of a conflict, as it stood when central refused.
#[derive(Debug, Clone, PartialEq)]
pub struct CentralVersion {
    /// The claim's version on central.
    pub version: i64,
    /// The record (see `detail::ClaimRecord`), lease included.
    pub record: crate::detail::ClaimRecord,
    /// When it was fetched.
    pub fetched_at: DateTime<Utc>,
}

/// A refused mutation with both versions.
#[derive(Debug, Clone, PartialEq)]
pub struct Conflict {
    /// What this desktop tried (the outbox entry, its refusal code in
    /// `last_error`).
    pub ours: OutboxEntry,
    /// What central holds. None when the claim is gone or no longer
    /// visible to this login, or central stopped answering before the
    /// record could be fetched.
    pub theirs: Option<CentralVersion>,
}

/// Entries central refused, oldest first, each with central's version.
pub async fn conflicts(cache: &Cache) -> Result<Vec<Conflict>, CacheError> {
    /// id, version, fetched_at, sealed
    type Row = (Vec<u8>, i64, String, Vec<u8>);
    let rows: Vec<Row> =
        sqlx::query_as("SELECT id, version, fetched_at, sealed FROM outbox_conflict")
            .fetch_all(cache.db())
            .await?;
    let mut theirs = std::collections::HashMap::with_capacity(rows.len());
    for (id, version, fetched_at, sealed) in rows {
        let id = Uuid::from_slice(&id).map_err(|_| CryptoError::Malformed)?;
        let plain = zeroize::Zeroizing::new(cache.key_for(&sealed)?.open(
            "outbox_conflict",
            id,
            &sealed,
        )?);
        let record = serde_json::from_slice(&plain).map_err(|_| CryptoError::Tampered)?;
        theirs.insert(
            id,
            CentralVersion {
                version,
                record: crate::detail::ClaimRecord(record),
                fetched_at: fetched_at.parse().map_err(|_| CryptoError::Malformed)?,
            },
        );
    }
    Ok(entries(cache)
        .await?
        .into_iter()
        .filter(|e| e.state == "conflict")
        .map(|ours| Conflict {
            theirs: theirs.remove(&ours.id),
            ours,
        })
        .collect())
}

/// The person dealt with a conflict (redid the work on the new version, or
/// let it go): the entry leaves the outbox, central's copy with it.
pub async fn dismiss(cache: &Cache, id: Uuid) -> Result<bool, CacheError> {
    let done = sqlx::query("DELETE FROM outbox WHERE id = ? AND state = 'conflict'")
        .bind(id.as_bytes().as_slice())
        .execute(cache.db())
        .await?;
    Ok(done.rows_affected() == 1)
}

/// Sends every due pending entry, oldest first, until one fails
/// transiently (then the rest wait for the retry time, keeping the order).
pub async fn push(
    cache: &Cache,
    central: &PgPool,
    map_err: &(dyn Fn(sqlx::Error) -> ErrorCode + Send + Sync),
    now: DateTime<Utc>,
) -> Result<PushReport, CacheError> {
    let mut report = PushReport::default();
    let pending = entries(cache)
        .await?
        .into_iter()
        .filter(|e| e.state == "pending");
    for entry in pending {
        let (id, attempts) = (entry.id, entry.attempts);
        if entry.next_attempt_at > now {
            report.retry_at = Some(entry.next_attempt_at);
            break;
        }
        let sent = send(central, id, &entry.mutation).await;
        match sent {
            Ok(result) => {
                sqlx::query("DELETE FROM outbox WHERE id = ?")
                    .bind(id.as_bytes().as_slice())
                    .execute(cache.db())
                    .await?;
                report.sent += 1;
                if result.get("applied") == Some(&serde_json::Value::Bool(false)) {
                    report.repeats += 1;
                }
                report.settled_claims.extend(entry.mutation.claim_id());
            }
            Err(e) => {
                let code = map_err(e);
                if transient(code) {
                    let retry = now
                        + chrono::Duration::from_std(backoff(attempts))
                            .expect("backoff fits in a chrono duration");
                    sqlx::query(
                        "UPDATE outbox SET attempts = attempts + 1, next_attempt_at = ?, last_error = ? WHERE id = ?",
                    )
                    .bind(retry.to_rfc3339())
                    .bind(code_name(code))
                    .bind(id.as_bytes().as_slice())
                    .execute(cache.db())
                    .await?;
                    report.retry_at = Some(retry);
                    break;
                }
                // Central's side, fetched now so the person sees both
                // versions, even if central is out of reach later.
                let theirs = match entry.mutation.claim_id() {
                    Some(claim) => crate::detail::fetch_record(central, claim)
                        .await
                        .ok()
                        .flatten(),
                    None => None,
                };
                let key = cache.sealing_key().await;
                let mut tx = cache.db().begin().await?;
                sqlx::query(
                    "UPDATE outbox SET state = 'conflict', attempts = attempts + 1, last_error = ? WHERE id = ?",
                )
                .bind(code_name(code))
                .bind(id.as_bytes().as_slice())
                .execute(&mut *tx)
                .await?;
                if let Some(theirs) = theirs {
                    let plain = zeroize::Zeroizing::new(
                        serde_json::to_vec(&theirs.record.0).expect("JSON serialises"),
                    );
                    sqlx::query(
                        "INSERT OR REPLACE INTO outbox_conflict (id, version, fetched_at, key_id, sealed)
                         VALUES (?, ?, ?, ?, ?)",
                    )
                    .bind(id.as_bytes().as_slice())
                    .bind(theirs.version)
                    .bind(now.to_rfc3339())
                    .bind(key.id().0)
                    .bind(key.seal("outbox_conflict", id, &plain))
                    .execute(&mut *tx)
                    .await?;
                }
                tx.commit().await?;
                drop(key);
                report.conflicts += 1;
                report.settled_claims.extend(entry.mutation.claim_id());
            }
        }
    }
    Ok(report)
}

async fn send(
    central: &PgPool,
    id: Uuid,
    mutation: &Mutation,
) -> Result<serde_json::Value, sqlx::Error> {
    let mut conn = central.acquire().await?;
    sqlx::query_scalar("SELECT claimdesk.apply_mutation($1, $2, $3)")
        .bind(id)
        .bind(mutation.kind())
        .bind(mutation.payload())
        .fetch_one(&mut *conn)
        .await
}

/// The code as the UI spells it.
fn code_name(code: ErrorCode) -> String {
    serde_json::to_value(code)
        .ok()
        .and_then(|v| v.as_str().map(str::to_owned))
        .unwrap_or_else(|| "internal".into())
}
