//! What an 837 says, as intake keeps it, and what was wrong with it.
//!
//! PHI read from the file (names, member ids, dates of birth, addresses,
//! diagnoses) is held in [`Secret`], so no `Debug` of a claim prints it.

use chrono::NaiveDate;
use rust_decimal::Decimal;

use crate::Secret;

/// Professional (005010X222A1) or institutional (005010X223A2).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ClaimKind {
    /// 837P, CMS-1500.
    Professional,
    /// 837I, UB-04.
    Institutional,
}

impl ClaimKind {
    /// The implementation guide's version id (ST03, GS08).
    pub fn guide(self) -> &'static str {
        match self {
            Self::Professional => "005010X222A1",
            Self::Institutional => "005010X223A2",
        }
    }

    /// The database's `claim_type`.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Professional => "professional",
            Self::Institutional => "institutional",
        }
    }
}

/// A provider named in the file (billing, rendering, facility).
#[derive(Debug, Clone, Default)]
pub struct ProviderRef {
    /// NM109 when NM108 is XX.
    pub npi: Option<String>,
    /// Organization or last name (not PHI: providers are public in NPPES).
    pub name: String,
    /// REF*EI, the tax id: kept secret, it may be an SSN for a sole practitioner.
    pub tax_id: Option<Secret<String>>,
}

/// The subscriber or the patient.
#[derive(Debug, Clone, Default)]
pub struct PersonRef {
    /// NM109 with NM108 MI.
    pub member_id: Secret<String>,
    /// NM103.
    pub last_name: Secret<String>,
    /// NM104.
    pub first_name: Secret<String>,
    /// DMG02, CCYYMMDD.
    pub date_of_birth: Secret<String>,
}

/// An HI diagnosis.
#[derive(Debug, Clone)]
pub struct Diagnosis {
    /// ABK/ABF (ICD-10) or BK/BF (ICD-9) and the like.
    pub qualifier: String,
    /// The code as sent, without a dot.
    pub code: Secret<String>,
}

impl Diagnosis {
    /// Whether the code set is ICD-10-CM.
    pub fn is_icd10(&self) -> bool {
        self.qualifier.starts_with('A')
    }
}

/// A PWK attachment indicator.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Attachment {
    /// PWK01, the report type (OZ support data, 09 progress report, ...).
    pub report_type: String,
    /// PWK02, how it comes (BM mail, EL electronic, FX fax, AA on request).
    pub transmission: String,
    /// PWK06, the attachment control number.
    pub control: Option<String>,
}

/// One service line (2400).
#[derive(Debug, Clone)]
pub struct ServiceLine {
    /// LX01.
    pub number: u32,
    /// SV1-01-2 / SV2-02-2: CPT or HCPCS.
    pub procedure: String,
    /// Up to four modifiers.
    pub modifiers: Vec<String>,
    /// SV201 on institutional claims.
    pub revenue_code: Option<String>,
    /// SV102 / SV203.
    pub charge: Decimal,
    /// SV104 / SV205.
    pub units: Decimal,
    /// SV105 (professional).
    pub place_of_service: Option<String>,
    /// SV107: 1-based pointers into the claim's diagnoses.
    pub diagnosis_pointers: Vec<u8>,
    /// DTP*472.
    pub service_from: Option<NaiveDate>,
    /// DTP*472 (end of a range).
    pub service_to: Option<NaiveDate>,
    /// Segment position of the LX in its set.
    pub position: u32,
}

/// One claim (2300) with what it hangs from.
#[derive(Debug, Clone)]
pub struct Claim837 {
    /// Professional or institutional.
    pub kind: ClaimKind,
    /// Segment position of the CLM in its set (the 999's IK302).
    pub position: u32,
    /// CLM01, the patient control number.
    pub patient_account: String,
    /// CLM02.
    pub total_charge: Decimal,
    /// CLM05-1: place of service (P) or facility type (I).
    pub facility_code: String,
    /// CLM05-3: 1 original, 7 replacement, 8 void.
    pub frequency: String,
    /// 2010AA.
    pub billing: ProviderRef,
    /// 2310B (P) / 2310D (I) rendering; else the billing provider renders.
    pub rendering: Option<ProviderRef>,
    /// 2010BA.
    pub subscriber: PersonRef,
    /// 2010CA when the patient is not the subscriber.
    pub patient: Option<PersonRef>,
    /// PAT01 / SBR02: 18 self, 01 spouse, 19 child, ...
    pub relationship: String,
    /// 2010BB NM109.
    pub payer_id: String,
    /// HI codes in order (the first is the principal).
    pub diagnoses: Vec<Diagnosis>,
    /// REF*F8, the payer's number of the claim a replacement or void replaces.
    pub original_reference: Option<String>,
    /// REF*G1.
    pub prior_auth: Option<String>,
    /// PWK indicators.
    pub attachments: Vec<Attachment>,
    /// DTP*434 statement dates (I) or the lines' span.
    pub statement_from: Option<NaiveDate>,
    /// End of the statement period.
    pub statement_to: Option<NaiveDate>,
    /// DTP*435 admission (I).
    pub admission: Option<NaiveDate>,
    /// The lines.
    pub lines: Vec<ServiceLine>,
}

impl Claim837 {
    /// First and last date of service: the lines', else the statement's.
    pub fn service_span(&self) -> Option<(NaiveDate, NaiveDate)> {
        let from = self
            .lines
            .iter()
            .filter_map(|l| l.service_from)
            .min()
            .or(self.statement_from)?;
        let to = self
            .lines
            .iter()
            .filter_map(|l| l.service_to.or(l.service_from))
            .max()
            .or(self.statement_to)
            .unwrap_or(from);
        Some((from, to.max(from)))
    }

    /// Σ line charges.
    pub fn line_total(&self) -> Decimal {
        self.lines.iter().map(|l| l.charge).sum()
    }

    /// The person treated: the patient loop's, else the subscriber.
    pub fn person(&self) -> &PersonRef {
        self.patient.as_ref().unwrap_or(&self.subscriber)
    }
}

/// IK4: an element's fault.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ElementError {
    /// IK401-1, the element's position in the segment.
    pub position: u8,
    /// IK401-2, the component's position, for composites.
    pub component: Option<u8>,
    /// IK402, the data element reference number, when known.
    pub reference: Option<u16>,
    /// IK403 (X12 code 621): 1 missing, 4 too short, 5 too long, 6 invalid
    /// character, 7 invalid code, 8 invalid date, I12 pattern.
    pub code: &'static str,
    /// IK404, left out for segments that carry PHI.
    pub copy: Option<String>,
}

/// IK3: a segment's fault.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SegmentError {
    /// IK301.
    pub id: String,
    /// IK302, the position in the set (ST is 1).
    pub position: u32,
    /// IK303, the loop, when the segment is in one.
    pub loop_id: Option<&'static str>,
    /// IK304 (X12 code 620): 1 unrecognized, 2 unexpected, 3 required
    /// missing, 5 exceeds maximum use, 7 out of sequence, 8 data element errors.
    pub code: &'static str,
    /// CTX: the claim's CLM01 when the segment lies inside a claim.
    pub claim: Option<String>,
    /// The IK4s.
    pub elements: Vec<ElementError>,
    /// Plain words for people reading the batch in the app.
    pub words: String,
}
