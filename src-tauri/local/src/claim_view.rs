//! A claim as the workspace shows it: the stored record (JSON from central,
//! see `detail::ClaimRecord`) read into typed parts, so the UI's types are
//! generated from these and nothing on the screen is an untyped blob.
//!
//! Money arrives as decimal strings (the record query casts it) and stays
//! `Decimal` here; it is never a float on the way.

use chrono::{DateTime, NaiveDate, Utc};
use claimdesk_core::priority::Reason;
use rust_decimal::Decimal;
use serde::{Deserialize, Serialize};
use uuid::Uuid;

use crate::detail::{ClaimRecord, OpenedClaim, Source};
use crate::pricing::{self, Pricing, PricingFacts};

/// The claim's own fields.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, specta::Type)]
pub struct ClaimHeader {
    /// Claim id.
    pub id: Uuid,
    /// The payer's claim number.
    pub claim_number: String,
    /// professional, institutional, dental, pharmacy.
    pub claim_type: String,
    /// The provider's own reference (CLM01).
    pub patient_account_number: Option<String>,
    /// 1 original, 7 replacement, 8 void.
    pub frequency_code: String,
    /// Place of service code.
    pub place_of_service: Option<String>,
    /// Prior authorisation number, if any.
    pub prior_auth_number: Option<String>,
    /// First date of service.
    pub service_from: NaiveDate,
    /// Last date of service.
    pub service_to: NaiveDate,
    /// When the payer received it.
    pub received_at: DateTime<Utc>,
    /// Status.
    pub status: String,
    /// urgent, high, normal, low.
    pub priority: String,
    /// Why the rules gave this priority.
    pub priority_reasons: Vec<Reason>,
    /// Prompt-pay due date.
    pub prompt_pay_due: NaiveDate,
    /// Total billed.
    #[specta(type = String)]
    pub total_billed: Decimal,
    /// Version the next decision names.
    pub version: i32,
    /// Flagged for manual review.
    pub manual_review: bool,
    /// The claim this one may duplicate.
    pub suspected_duplicate_of: Option<Uuid>,
    /// Pended: the day the pend ends and the claim returns to the queue.
    #[serde(default)]
    pub pend_until: Option<NaiveDate>,
    /// The claim a replacement (7) or void (8) replaces.
    #[serde(default)]
    pub replaces_claim_id: Option<Uuid>,
    /// Risk flag type.
    pub risk_type: Option<String>,
    /// Risk flag severity.
    pub risk_severity: Option<String>,
    /// Pend reason code, when pended.
    pub pend_reason: Option<String>,
    /// Billing provider.
    pub provider_id: Uuid,
    /// The member (patient).
    pub member_id: Uuid,
    /// The policy it is billed under.
    pub policy_id: Option<Uuid>,
}

/// A billed line.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, specta::Type)]
pub struct ClaimLine {
    /// 1-based line number.
    pub line_number: i16,
    /// Date of service.
    pub service_date: NaiveDate,
    /// CPT/HCPCS code.
    pub cpt_code: String,
    /// Up to four modifiers.
    pub modifiers: Vec<String>,
    /// Pointers (1-based) into the claim's diagnoses.
    pub diagnosis_pointers: Vec<i16>,
    /// Units.
    #[specta(type = String)]
    pub units: Decimal,
    /// Place of service code.
    pub place_of_service: Option<String>,
    /// Billed.
    #[specta(type = String)]
    pub billed: Decimal,
}

/// A diagnosis on the claim.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, specta::Type)]
pub struct Diagnosis {
    /// 1–12, what line pointers refer to.
    pub sequence: i16,
    /// ICD-10-CM code.
    pub icd10_code: String,
}

/// An internal note.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, specta::Type)]
pub struct Note {
    /// Who wrote it.
    pub author: String,
    /// The text.
    pub body: String,
    /// When.
    pub at: DateTime<Utc>,
}

/// A status change.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, specta::Type)]
pub struct StatusChange {
    /// From (none when the claim was created).
    pub from: Option<String>,
    /// To.
    pub to: String,
    /// Who.
    pub by: String,
    /// When.
    pub at: DateTime<Utc>,
    /// Why, when given.
    pub reason: Option<String>,
}

/// The member, in full. PHI: the screen masks what it does not need.
#[derive(Clone, PartialEq, Serialize, Deserialize, specta::Type)]
pub struct Member {
    /// The payer's member id.
    pub member_number: String,
    /// Given name.
    pub first_name: String,
    /// Middle name.
    pub middle_name: Option<String>,
    /// Family name.
    pub last_name: String,
    /// Date of birth.
    pub date_of_birth: NaiveDate,
    /// F, M, X, U.
    pub gender: String,
    /// self, spouse, child, …
    pub relationship: String,
    /// Last four of the SSN.
    pub ssn_last4: Option<String>,
    /// Street.
    pub address_line1: Option<String>,
    /// Street, second line.
    pub address_line2: Option<String>,
    /// City.
    pub city: Option<String>,
    /// State.
    pub state: Option<String>,
    /// ZIP.
    pub postal_code: Option<String>,
    /// Phone.
    pub phone: Option<String>,
    /// active, inactive, suspended, deceased.
    pub status: String,
}

impl std::fmt::Debug for Member {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Member(***)")
    }
}

/// A document attached to the claim (the viewer opens its content).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, specta::Type)]
pub struct DocumentEntry {
    /// Document id.
    pub id: Uuid,
    /// cms1500, ub04, medical_record, …
    pub document_type: String,
    /// File name as received.
    pub file_name: String,
    /// MIME type.
    pub mime_type: String,
    /// Size in bytes.
    pub size_bytes: u32,
    /// Pages, when known.
    pub page_count: Option<i32>,
    /// The document's text (OCR, or a PDF's text layer), pages separated by
    /// form feeds; what the viewer searches.
    #[serde(default)]
    pub ocr_text: Option<DocumentText>,
    /// Who attached it.
    pub uploaded_by: String,
    /// When.
    pub uploaded_at: DateTime<Utc>,
}

/// A document's text: PHI (names, dates of birth, diagnoses), so Debug is
/// masked.
#[derive(Clone, PartialEq, Serialize, Deserialize, specta::Type)]
#[serde(transparent)]
#[specta(transparent)]
pub struct DocumentText(pub String);

impl std::fmt::Debug for DocumentText {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("DocumentText(***)")
    }
}

/// Who holds the claim.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, specta::Type)]
pub struct Lease {
    /// The login.
    pub holder: String,
    /// Until when.
    pub expires_at: DateTime<Utc>,
}

/// Where the screen's copy came from.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, specta::Type)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum ViewSource {
    /// Fresh from central.
    Central,
    /// The copy stored on this computer, fetched at that time (offline).
    Stored {
        /// When it was fetched.
        fetched_at: DateTime<Utc>,
    },
}

/// A claim, opened, typed for the workspace.
#[derive(Clone, PartialEq, Serialize, specta::Type)]
pub struct ClaimView {
    /// The claim.
    pub claim: ClaimHeader,
    /// Its lines, in order.
    pub lines: Vec<ClaimLine>,
    /// Its diagnoses, in pointer order.
    pub diagnoses: Vec<Diagnosis>,
    /// Internal notes, oldest first.
    pub notes: Vec<Note>,
    /// Status history, oldest first.
    pub history: Vec<StatusChange>,
    /// The member.
    pub member: Option<Member>,
    /// The live lease, if anyone holds one.
    pub lease: Option<Lease>,
    /// Attached documents, oldest first.
    pub documents: Vec<DocumentEntry>,
    /// Where this copy came from.
    pub source: ViewSource,
    /// Eligibility, benefits, accumulators, provider standing and the
    /// engine's figures; none when the record came without pricing facts.
    pub pricing: Option<Pricing>,
}

impl std::fmt::Debug for ClaimView {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("ClaimView(***)")
    }
}

/// The record's parts, as the record query writes them.
#[derive(Deserialize)]
struct RecordParts {
    claim: ClaimHeader,
    lines: Vec<ClaimLine>,
    diagnoses: Vec<Diagnosis>,
    notes: Vec<Note>,
    history: Vec<StatusChange>,
    member: Option<Member>,
    lease: Option<Lease>,
    #[serde(default)]
    documents: Vec<DocumentEntry>,
    #[serde(default)]
    pricing: Option<PricingFacts>,
}

/// The record did not have the shape this version reads (a copy stored by
/// an older version, say): fetch it again.
#[derive(Debug, thiserror::Error)]
#[error("the stored claim record has an unexpected shape")]
pub struct UnreadableRecord;

impl ClaimView {
    /// Reads an opened claim's record into its typed parts.
    pub fn from_opened(opened: &OpenedClaim) -> Result<Self, UnreadableRecord> {
        let source = match opened.source {
            Source::Central => ViewSource::Central,
            Source::Stored(fetched_at) => ViewSource::Stored { fetched_at },
        };
        Self::from_record(&opened.record, source)
    }

    /// Reads a claim record (from wherever it came) into its typed parts.
    pub fn from_record(record: &ClaimRecord, source: ViewSource) -> Result<Self, UnreadableRecord> {
        let parts = RecordParts::deserialize(&record.0).map_err(|e| {
            // Only the category: serde's message may quote the value.
            tracing::warn!(category = ?e.classify(), "claim record unreadable");
            UnreadableRecord
        })?;
        let pricing = parts
            .pricing
            .as_ref()
            .map(|facts| pricing::price(&parts.claim, &parts.lines, &parts.diagnoses, facts));
        Ok(Self {
            pricing,
            claim: parts.claim,
            lines: parts.lines,
            diagnoses: parts.diagnoses,
            notes: parts.notes,
            history: parts.history,
            member: parts.member,
            lease: parts.lease,
            documents: parts.documents,
            source,
        })
    }
}
