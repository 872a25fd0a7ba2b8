//! The supervisor's view of intake: each 837 file received (its senders,
//! counts and how far it has been read), what became of its interchanges,
//! sets and rejected claims, and the answers sent back. Reads only;
//! `intake` writes. Answers name patients (the 277CA's 2100D), so reading
//! one is recorded as a PHI view.

use chrono::{DateTime, Utc};
use rust_decimal::Decimal;
use serde::{Deserialize, Serialize};
use sqlx::PgConnection;
use uuid::Uuid;

use crate::audit_trail;

/// A file in the intake list.
#[derive(Debug, Clone, PartialEq, Serialize, specta::Type, sqlx::FromRow)]
pub struct IntakeBatch {
    /// The batch.
    pub id: Uuid,
    /// The file's name as it arrived.
    pub file_name: String,
    /// Who sent it (ISA06 of each interchange, or of the answers when no
    /// interchange was kept, as for a duplicate).
    pub senders: Vec<String>,
    /// When intake began.
    pub received_at: DateTime<Utc>,
    /// The login that ran the intake.
    pub received_by: String,
    /// receiving, complete or rejected (a file that is not X12 at all).
    pub status: String,
    /// Why the file could not be read to its end, if it could not.
    pub problem: Option<String>,
    /// Size and how much has been read (bytes; as f64 because JavaScript
    /// has no 64-bit integer and a file may pass 4 GiB).
    pub file_bytes: f64,
    /// Bytes read so far (all of them once complete).
    pub bytes_read: f64,
    /// Transaction sets read, and accepted by the 999.
    pub sets_received: i32,
    /// Sets accepted.
    pub sets_accepted: i32,
    /// Claims taken into the queue (so far, while receiving).
    pub claims_accepted: i32,
    /// Claims the 277CA rejected.
    pub claims_rejected: i32,
    /// Σ charges of the claims taken.
    pub amount_accepted: Decimal,
    /// Interchanges answered with TA1 025: sent before, nothing created.
    pub duplicates: i32,
    /// When it finished.
    pub completed_at: Option<DateTime<Utc>>,
    /// Last change: a receiving batch that has not moved for long was cut
    /// off (it resumes when the same file is imported again).
    pub updated_at: DateTime<Utc>,
}

/// Where a page of batches continues: after this received time and id.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, specta::Type)]
pub struct BatchCursor {
    /// The last shown batch's received time.
    pub received_at: DateTime<Utc>,
    /// Its id (ties).
    pub id: Uuid,
}

/// A page of the list, newest first.
#[derive(Debug, Clone, PartialEq, Serialize, specta::Type)]
pub struct IntakeBatchPage {
    /// The batches.
    pub batches: Vec<IntakeBatch>,
    /// Where the next page starts, if there is one.
    pub next: Option<BatchCursor>,
}

// While a batch is receiving, only sets_received and bytes_read are kept on
// it: the claim counts are summed from its sets, which are few.
const BATCH_SELECT: &str = "
    SELECT b.id, b.file_name, b.received_at, b.received_by, b.status, b.problem,
           b.file_bytes::float8 AS file_bytes, b.bytes_read::float8 AS bytes_read, b.completed_at, b.updated_at,
           -- With no interchange kept (all resent), the sender is the one
           -- our answers went to: ISA08 of their fixed-width ISA.
           coalesce((SELECT array_agg(DISTINCT i.sender_id ORDER BY i.sender_id)
                     FROM claimdesk.intake_interchange i WHERE i.batch_id = b.id),
                    (SELECT array_agg(DISTINCT btrim(split_part(left(a.body, 106), '*', 9)))
                     FROM claimdesk.intake_ack a WHERE a.batch_id = b.id),
                    '{}') AS senders,
           (SELECT count(*)::int FROM claimdesk.intake_ack a
            WHERE a.batch_id = b.id AND a.kind = 'TA1' AND a.body ~ 'TA1\\*[^*~]*\\*[^*~]*\\*[^*~]*\\*R\\*025~')
               AS duplicates,
           b.sets_received, s.sets_accepted, s.claims_accepted, s.claims_rejected, s.amount_accepted
    FROM claimdesk.intake_batch b,
         LATERAL (SELECT CASE WHEN b.status = 'receiving' THEN count(*) FILTER (WHERE st.accepted)::int
                              ELSE b.sets_accepted END AS sets_accepted,
                         CASE WHEN b.status = 'receiving' THEN coalesce(sum(st.claims_accepted), 0)::int
                              ELSE b.claims_accepted END AS claims_accepted,
                         CASE WHEN b.status = 'receiving' THEN coalesce(sum(st.claims_rejected), 0)::int
                              ELSE b.claims_rejected END AS claims_rejected,
                         CASE WHEN b.status = 'receiving' THEN coalesce(sum(st.amount_accepted), 0)
                              ELSE b.amount_accepted END AS amount_accepted
                  FROM claimdesk.intake_interchange i
                  JOIN claimdesk.intake_set st ON st.interchange_id = i.id
                  WHERE i.batch_id = b.id AND b.status = 'receiving') s";

/// The newest batches first, `limit` (1..=200) at a time, continuing after
/// `after`.
pub async fn batches(
    conn: &mut PgConnection,
    after: Option<BatchCursor>,
    limit: u32,
) -> Result<IntakeBatchPage, sqlx::Error> {
    let limit = limit.clamp(1, 200) as i64;
    let mut batches: Vec<IntakeBatch> = sqlx::query_as(&format!(
        "{BATCH_SELECT}
         WHERE ($1::timestamptz IS NULL OR (b.received_at, b.id) < ($1, $2))
         ORDER BY b.received_at DESC, b.id DESC
         LIMIT $3"
    ))
    .bind(after.map(|a| a.received_at))
    .bind(after.map(|a| a.id))
    .bind(limit + 1)
    .fetch_all(conn)
    .await?;
    let more = batches.len() as i64 > limit;
    batches.truncate(limit as usize);
    let next = more.then(|| {
        let last = batches.last().expect("a full page has a last row");
        BatchCursor {
            received_at: last.received_at,
            id: last.id,
        }
    });
    Ok(IntakeBatchPage { batches, next })
}

/// One interchange of a batch.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, specta::Type, sqlx::FromRow)]
pub struct IntakeInterchange {
    /// Position in the file.
    pub ordinal: i32,
    /// ISA05:ISA06.
    pub sender_qualifier: String,
    /// ISA06.
    pub sender_id: String,
    /// ISA13.
    pub control_number: String,
    /// ISA15: P production, T test.
    pub usage: String,
    /// receiving, complete or rejected.
    pub status: String,
    /// TA1 note code when rejected whole.
    pub ta1_code: Option<String>,
}

/// One transaction set and what the 999 and 277CA said of it.
#[derive(Debug, Clone, PartialEq, Serialize, specta::Type, sqlx::FromRow)]
pub struct IntakeSetRow {
    /// The set.
    pub id: Uuid,
    /// Its interchange's position in the file.
    pub interchange: i32,
    /// GS06.
    pub group_control: String,
    /// ST02.
    pub set_control: String,
    /// professional or institutional (none when not recognised).
    pub claim_type: Option<String>,
    /// Accepted by the 999.
    pub accepted: bool,
    /// Claims taken.
    pub claims_accepted: i32,
    /// Claims rejected in the 277CA.
    pub claims_rejected: i32,
    /// Σ charges taken.
    pub amount_accepted: Decimal,
}

/// A claim the 277CA rejected, with why in words.
#[derive(Debug, Clone, PartialEq, Serialize, specta::Type, sqlx::FromRow)]
pub struct RejectedClaim {
    /// Its set's ST02.
    pub set_control: String,
    /// Position in the set.
    pub ordinal: i32,
    /// CLM01, the provider's own reference.
    pub patient_account: String,
    /// CLM02.
    pub charge: Decimal,
    /// CLM05-3: 1 original, 7 replacement, 8 void.
    pub frequency_code: String,
    /// STC01-1: A3 returned as unprocessable, A7 rejected for invalid
    /// information.
    pub status_category: String,
    /// STC01-2, the claim status code.
    pub status_code: String,
    /// STC01-3, the entity the code concerns.
    pub entity: Option<String>,
    /// Our stable reason.
    pub reason: Option<String>,
    /// In words, as on the 277CA's STC12.
    pub explanation: Option<String>,
}

/// An answer sent for the batch (its body is read on its own).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, specta::Type, sqlx::FromRow)]
pub struct AnswerRef {
    /// The answer.
    pub id: Uuid,
    /// TA1, 999 or 277CA.
    pub kind: String,
    /// Its ISA13.
    pub control_number: i32,
    /// Its interchange's position in the file (none for a duplicate's TA1).
    pub interchange: Option<i32>,
    /// Its length in bytes.
    pub bytes: i32,
    /// When it was written.
    pub created_at: DateTime<Utc>,
}

/// A batch with everything that became of it.
#[derive(Debug, Clone, PartialEq, Serialize, specta::Type)]
pub struct IntakeBatchDetail {
    /// The batch as in the list.
    pub batch: IntakeBatch,
    /// Its interchanges.
    pub interchanges: Vec<IntakeInterchange>,
    /// Its sets, in file order.
    pub sets: Vec<IntakeSetRow>,
    /// The first rejected claims, in file order.
    pub rejected: Vec<RejectedClaim>,
    /// All the rejected claims (more than listed when many).
    pub rejected_total: i32,
    /// The answers.
    pub answers: Vec<AnswerRef>,
}

/// Rejected claims listed with a batch; the 277CA has them all.
pub const REJECTED_LISTED: i64 = 500;

/// The batch with its interchanges, sets, first rejected claims and
/// answers; `None` when there is no such batch.
pub async fn batch_detail(
    conn: &mut PgConnection,
    id: Uuid,
) -> Result<Option<IntakeBatchDetail>, sqlx::Error> {
    let batch: Option<IntakeBatch> = sqlx::query_as(&format!("{BATCH_SELECT} WHERE b.id = $1"))
        .bind(id)
        .fetch_optional(&mut *conn)
        .await?;
    let Some(batch) = batch else { return Ok(None) };
    let interchanges = sqlx::query_as(
        "SELECT ordinal, sender_qualifier, sender_id, control_number, usage, status, ta1_code
         FROM claimdesk.intake_interchange WHERE batch_id = $1 ORDER BY ordinal",
    )
    .bind(id)
    .fetch_all(&mut *conn)
    .await?;
    let sets = sqlx::query_as(
        "SELECT s.id, i.ordinal AS interchange, s.group_control, s.set_control, s.claim_type, s.accepted,
                s.claims_accepted, s.claims_rejected, s.amount_accepted
         FROM claimdesk.intake_set s JOIN claimdesk.intake_interchange i ON i.id = s.interchange_id
         WHERE i.batch_id = $1 ORDER BY i.ordinal, s.group_ordinal, s.set_ordinal",
    )
    .bind(id)
    .fetch_all(&mut *conn)
    .await?;
    let rejected = sqlx::query_as(
        "SELECT s.set_control, c.ordinal, c.patient_account, c.charge, c.frequency_code,
                c.status_category, c.status_code, c.entity, c.reason, c.explanation
         FROM claimdesk.intake_claim c
         JOIN claimdesk.intake_set s ON s.id = c.set_id
         JOIN claimdesk.intake_interchange i ON i.id = s.interchange_id
         WHERE i.batch_id = $1 AND c.status_category <> 'A2'
         ORDER BY i.ordinal, s.group_ordinal, s.set_ordinal, c.ordinal
         LIMIT $2",
    )
    .bind(id)
    .bind(REJECTED_LISTED)
    .fetch_all(&mut *conn)
    .await?;
    let answers = sqlx::query_as(
        "SELECT a.id, a.kind, a.control_number, i.ordinal AS interchange,
                octet_length(a.body) AS bytes, a.created_at
         FROM claimdesk.intake_ack a LEFT JOIN claimdesk.intake_interchange i ON i.id = a.interchange_id
         WHERE a.batch_id = $1
         ORDER BY i.ordinal NULLS LAST, a.created_at,
                  array_position(ARRAY['TA1', '999', '277CA'], a.kind)",
    )
    .bind(id)
    .fetch_all(&mut *conn)
    .await?;
    let rejected_total = batch.claims_rejected;
    Ok(Some(IntakeBatchDetail {
        batch,
        interchanges,
        sets,
        rejected,
        rejected_total,
        answers,
    }))
}

/// An answer's text, one segment per entry.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, specta::Type)]
pub struct Answer {
    /// Which answer.
    pub id: Uuid,
    /// TA1, 999 or 277CA.
    pub kind: String,
    /// Its ISA13.
    pub control_number: i32,
    /// Its segments from `from`, each with its terminator.
    pub segments: Vec<String>,
    /// The position of the first one given (0-based).
    pub from: u32,
    /// How many segments the answer has.
    pub total_segments: u32,
}

/// Segments of `body` split at the terminator our answers use, with it.
fn segments(body: &str) -> impl Iterator<Item = &str> {
    body.split_inclusive('~')
        .map(str::trim)
        .filter(|s| !s.is_empty())
}

/// Segments `from..from + limit` (limit 1..=5,000) of the answer `id`, and
/// a PHI view of it in the audit trail: a 277CA names patients. `None` when
/// there is no such answer.
pub async fn answer(
    conn: &mut PgConnection,
    id: Uuid,
    from: u32,
    limit: u32,
) -> Result<Option<Answer>, sqlx::Error> {
    let row: Option<(String, i32, String)> =
        sqlx::query_as("SELECT kind, control_number, body FROM claimdesk.intake_ack WHERE id = $1")
            .bind(id)
            .fetch_optional(&mut *conn)
            .await?;
    let Some((kind, control_number, body)) = row else {
        return Ok(None);
    };
    // No one member: the event names the answer, which names its claims.
    audit_trail::record_view(&mut *conn, "intake_ack", &id.to_string(), None).await?;
    let limit = limit.clamp(1, 5_000) as usize;
    // One pass: the page taken while counting (a 277CA can hold a million
    // segments).
    let mut page = Vec::with_capacity(limit);
    let mut total_segments = 0u32;
    for (i, segment) in segments(&body).enumerate() {
        if i >= from as usize && page.len() < limit {
            page.push(segment.to_string());
        }
        total_segments += 1;
    }
    Ok(Some(Answer {
        id,
        kind,
        control_number,
        segments: page,
        from,
        total_segments,
    }))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_answer_splits_into_its_segments_whatever_the_line_breaks() {
        let body = "ISA*00~\nGS*FA~\r\nST*999*0001~SE*2*0001~\n";
        let s: Vec<&str> = segments(body).collect();
        assert_eq!(s, ["ISA*00~", "GS*FA~", "ST*999*0001~", "SE*2*0001~"]);
    }
}
