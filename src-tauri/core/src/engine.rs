//! The adjudication engine: pure functions over plain data, money in
//! `Decimal`, the clock passed in. Given a claim and everything known about
//! its member, plan, provider and history, it prices every line, splits the
//! member's share into deductible, copay and coinsurance, and lists the edits
//! that fired, each with its CARC and words for the screen.
//!
//! Every line balances as on an 835: billed = paid + the sum of adjustments.

use std::collections::{BTreeMap, BTreeSet, HashMap, HashSet};

use chrono::{DateTime, Months, NaiveDate, Utc};
use rust_decimal::Decimal;
use serde::Serialize;

use crate::domain::npi;

/// A claim line as billed.
#[derive(Debug, Clone, PartialEq)]
pub struct LineInput {
    /// 1-based line number.
    pub line_number: u16,
    /// Date of service.
    pub service_date: NaiveDate,
    /// CPT/HCPCS code.
    pub cpt: String,
    /// Up to four modifiers.
    pub modifiers: Vec<String>,
    /// Place of service code.
    pub place_of_service: String,
    /// Units.
    pub units: Decimal,
    /// Billed amount.
    pub billed: Decimal,
}

/// The claim frequency (X12 CLM05-3): an original bill, a replacement of
/// an earlier one, or a void of an earlier one.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Frequency {
    /// "1": an original claim.
    Original,
    /// "7": replaces a claim already on file.
    Replacement,
    /// "8": voids a claim already on file.
    Void,
}

impl Frequency {
    /// The frequency for a CLM05-3 code, or none for a code the engine
    /// does not know.
    pub fn from_code(code: &str) -> Option<Frequency> {
        match code.trim() {
            "1" => Some(Frequency::Original),
            "7" => Some(Frequency::Replacement),
            "8" => Some(Frequency::Void),
            _ => None,
        }
    }
}

/// The claim as billed.
#[derive(Debug, Clone, PartialEq)]
pub struct ClaimInput {
    /// Its id.
    pub id: uuid::Uuid,
    /// Its claim number; breaks ties in receipt order.
    pub claim_number: String,
    /// When the payer received it, to the instant: duplicates follow
    /// receipt order.
    pub received_at: DateTime<Utc>,
    /// Original, replacement or void.
    pub frequency: Frequency,
    /// The claim a replacement or void replaces, if known.
    pub replaces: Option<uuid::Uuid>,
    /// First date of service.
    pub service_from: NaiveDate,
    /// Last date of service.
    pub service_to: NaiveDate,
    /// When the payer received it (the day, for timely filing).
    pub received: NaiveDate,
    /// Member (patient) id, for duplicate checks.
    pub member_id: uuid::Uuid,
    /// ICD-10 codes in pointer order.
    pub diagnoses: Vec<String>,
    /// The lines.
    pub lines: Vec<LineInput>,
}

/// Eligibility on the date of service, as `check_eligibility` reports it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Eligibility {
    /// Covered.
    Eligible,
    /// Coverage starts after the date of service.
    NotYetEffective,
    /// Coverage ended before the date of service.
    Terminated,
    /// Between two coverage periods.
    Gap,
    /// No coverage, or the member is not active.
    NotCovered,
}

/// What the plan pays for one benefit category.
#[derive(Debug, Clone, PartialEq)]
pub struct CategoryBenefit {
    /// Copay in network.
    pub copay_in_network: Decimal,
    /// Copay out of network.
    pub copay_out_of_network: Decimal,
    /// Whether the deductible applies before the plan pays.
    pub deductible_applies: bool,
    /// Covered in network at all.
    pub covered_in_network: bool,
    /// Covered out of network at all.
    pub covered_out_of_network: bool,
    /// Visits per plan year (distinct service dates), if limited.
    pub visit_limit: Option<u32>,
    /// What the plan pays per plan year in this category, if limited.
    pub annual_limit: Option<Decimal>,
}

/// The plan's cost-sharing design.
#[derive(Debug, Clone, PartialEq)]
pub struct Plan {
    /// Individual deductible.
    pub deductible_individual: Decimal,
    /// Family deductible.
    pub deductible_family: Decimal,
    /// Individual out-of-pocket maximum.
    pub oop_max_individual: Decimal,
    /// Family out-of-pocket maximum.
    pub oop_max_family: Decimal,
    /// Member coinsurance in network, percent.
    pub coinsurance_in_network: Decimal,
    /// Member coinsurance out of network, percent.
    pub coinsurance_out_of_network: Decimal,
    /// Benefits per category (see `cpt_code.benefit_category`).
    pub benefits: HashMap<String, CategoryBenefit>,
}

/// What the member and family have already spent this plan year.
#[derive(Debug, Clone, Copy, PartialEq, Default)]
pub struct Accumulators {
    /// The member's deductible met.
    pub individual_deductible: Decimal,
    /// The member's out-of-pocket met.
    pub individual_oop: Decimal,
    /// The family's deductible met (all members of the policy).
    pub family_deductible: Decimal,
    /// The family's out-of-pocket met.
    pub family_oop: Decimal,
}

/// The billing provider as of the date of service.
#[derive(Debug, Clone, PartialEq)]
pub struct Provider {
    /// Its NPI.
    pub npi: String,
    /// In network (has an active contract).
    pub in_network: bool,
    /// Excluded (OIG, SAM, state) on or before the date of service.
    pub excluded_since: Option<NaiveDate>,
    /// Holds verified, unexpired credentials on the date of service.
    pub credentialed: bool,
}

/// What a benefit category already used this plan year, before this claim.
#[derive(Debug, Clone, Copy, PartialEq, Default)]
pub struct BenefitUsage {
    /// Visits (distinct service dates) already counted.
    pub visits: u32,
    /// What the plan already paid.
    pub paid: Decimal,
}

/// A claim already on file for the same member, for duplicate edits.
#[derive(Debug, Clone, PartialEq)]
pub struct PriorClaim {
    /// Its id (matched against `ClaimInput::replaces`).
    pub id: uuid::Uuid,
    /// Its claim number, for the explanation and receipt order.
    pub claim_number: String,
    /// When the payer received it.
    pub received_at: DateTime<Utc>,
    /// Original, replacement or void.
    pub frequency: Frequency,
    /// Its billing provider's NPI.
    pub provider_npi: String,
    /// First date of service.
    pub service_from: NaiveDate,
    /// Last date of service.
    pub service_to: NaiveDate,
    /// Whether it was denied or voided (those do not count as duplicates).
    pub denied_or_void: bool,
    /// (CPT, place of service, billed) per line.
    pub lines: Vec<(String, String, Decimal)>,
}

/// Reference knowledge the edits need.
#[derive(Debug, Clone, Default)]
pub struct Reference {
    /// Benefit category per CPT code; a code missing here is unknown.
    pub cpt_category: HashMap<String, String>,
    /// Known ICD-10 codes.
    pub icd10: HashSet<String>,
    /// NCCI procedure-to-procedure pairs in force: (column 1, column 2) to
    /// the modifier indicator ('0', '1' or '9').
    pub ncci: HashMap<(String, String), char>,
}

/// Everything the engine decides from, apart from the claim.
#[derive(Debug, Clone)]
pub struct Context {
    /// Eligibility on the date of service.
    pub eligibility: Eligibility,
    /// The plan.
    pub plan: Plan,
    /// Accumulators for the plan year of the service.
    pub accumulators: Accumulators,
    /// Allowed amount per unit by (CPT, modifier); "" is the base rate.
    pub fee_schedule: HashMap<(String, String), Decimal>,
    /// Share of billed allowed when no contract rate exists, percent.
    pub out_of_network_allowed_percent: Decimal,
    /// The provider.
    pub provider: Provider,
    /// The member's other claims.
    pub history: Vec<PriorClaim>,
    /// Benefit use this plan year before this claim, by benefit category.
    pub benefit_usage: HashMap<String, BenefitUsage>,
    /// Code tables.
    pub reference: Reference,
}

/// An X12 claim adjustment group code.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, specta::Type)]
pub enum Group {
    /// Contractual obligation.
    CO,
    /// Patient responsibility.
    PR,
    /// Other adjustment.
    OA,
}

/// One adjustment on a line, as on an 835 CAS segment.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, specta::Type)]
pub struct Adjustment {
    /// Group code.
    pub group: Group,
    /// Claim adjustment reason code.
    pub carc: String,
    /// Amount.
    #[specta(type = String)]
    pub amount: Decimal,
}

/// What the claim's outcome calls for.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize, specta::Type)]
#[serde(rename_all = "snake_case")]
pub enum Action {
    /// Pay as priced.
    Pay,
    /// Hold for a person to review.
    Pend,
    /// Deny.
    Deny,
}

/// An edit that fired.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, specta::Type)]
pub struct Edit {
    /// Stable code for the UI (e.g. `timely_filing`).
    pub code: String,
    /// The CARC it maps to.
    pub carc: String,
    /// Group code reported with it.
    pub group: Group,
    /// Line it concerns, or none for the whole claim.
    pub line_number: Option<u16>,
    /// What it does to the claim.
    pub action: Action,
    /// Whether an adjudicator may override it.
    pub overridable: bool,
    /// Plain words for the screen.
    pub explanation: String,
}

/// The priced line.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, specta::Type)]
pub struct LineResult {
    /// Line number.
    pub line_number: u16,
    /// Billed.
    #[specta(type = String)]
    pub billed: Decimal,
    /// Allowed.
    #[specta(type = String)]
    pub allowed: Decimal,
    /// Deductible applied.
    #[specta(type = String)]
    pub deductible: Decimal,
    /// Copay.
    #[specta(type = String)]
    pub copay: Decimal,
    /// Coinsurance.
    #[specta(type = String)]
    pub coinsurance: Decimal,
    /// Plan paid.
    #[specta(type = String)]
    pub paid: Decimal,
    /// Member responsibility: deductible + copay + coinsurance, plus what a
    /// benefit limit moved to the member (or billed, on a PR denial).
    #[specta(type = String)]
    pub member_responsibility: Decimal,
    /// CAS adjustments; billed = paid + their sum.
    pub adjustments: Vec<Adjustment>,
    /// Remittance remark codes.
    pub rarc: Vec<String>,
}

/// The engine's answer for a claim.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, specta::Type)]
pub struct Adjudication {
    /// Lines in order.
    pub lines: Vec<LineResult>,
    /// Every edit that fired.
    pub edits: Vec<Edit>,
    /// The strongest action any edit asks for (Pay when none fired).
    pub action: Action,
    /// Total billed.
    #[specta(type = String)]
    pub billed: Decimal,
    /// Total paid.
    #[specta(type = String)]
    pub paid: Decimal,
    /// Total member responsibility.
    #[specta(type = String)]
    pub member_responsibility: Decimal,
    /// Use of each limited benefit category on this claim, by category.
    pub benefit_limits: Vec<BenefitLimitUse>,
}

/// How a benefit category's visit or annual limit stands after this claim.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, specta::Type)]
pub struct BenefitLimitUse {
    /// The category (`cpt_code.benefit_category`).
    pub benefit_category: String,
    /// Visits per plan year, if limited.
    pub visit_limit: Option<u32>,
    /// Visits used before this claim.
    pub visits_before: u32,
    /// Visits of this claim counted against the limit (not denied).
    pub visits_this_claim: u32,
    /// What the plan pays per plan year, if limited.
    #[specta(type = Option<String>)]
    pub annual_limit: Option<Decimal>,
    /// Paid in this category before this claim.
    #[specta(type = String)]
    pub paid_before: Decimal,
    /// Paid in this category on this claim.
    #[specta(type = String)]
    pub paid_this_claim: Decimal,
}

impl Adjudication {
    /// Sum of all adjustments across lines.
    pub fn adjustments_total(&self) -> Decimal {
        self.lines
            .iter()
            .flat_map(|l| &l.adjustments)
            .map(|a| a.amount)
            .sum()
    }
}

/// Modifiers that bypass an NCCI indicator-1 pair on any column-2 code
/// (distinct procedural service).
const NCCI_BYPASS: [&str; 5] = ["59", "XE", "XS", "XP", "XU"];

/// Anatomic modifiers (eyelids, fingers, toes, sides, coronary arteries):
/// they bypass an indicator-1 pair only when column 1 does not carry the
/// same one, i.e. was on another site.
const NCCI_ANATOMIC: [&str; 31] = [
    "E1", "E2", "E3", "E4", "FA", "F1", "F2", "F3", "F4", "F5", "F6", "F7", "F8", "F9", "TA", "T1",
    "T2", "T3", "T4", "T5", "T6", "T7", "T8", "T9", "LT", "RT", "LC", "LD", "LM", "RC", "RI",
];

/// Modifiers that bypass an indicator-1 pair only when column 2 is an E/M
/// service: a significant, separate E/M (25), the decision for surgery (57),
/// an unrelated E/M in the postoperative period (24).
const NCCI_EM_BYPASS: [&str; 3] = ["25", "57", "24"];

/// Repeat clinical lab test: bypasses only when column 2 is a lab code.
const NCCI_LAB_BYPASS: &str = "91";

/// Filing limit: claims must arrive within 12 months of service.
const FILING_LIMIT_MONTHS: u32 = 12;

fn money(v: Decimal) -> Decimal {
    v.round_dp_with_strategy(2, rust_decimal::RoundingStrategy::MidpointNearestEven)
}

/// Adjudicates one claim. The rules read only the claim's own dates, so the
/// result is the same whenever it runs.
pub fn adjudicate(claim: &ClaimInput, ctx: &Context) -> Adjudication {
    let mut edits = claim_edits(claim, ctx);
    let mut denied_lines = line_edits(claim, ctx, &mut edits);
    let claim_denial = edits
        .iter()
        .position(|e| e.line_number.is_none() && e.action == Action::Deny);
    // A denied claim uses no visits, so no visit limit applies to it.
    if claim_denial.is_none() {
        visit_limits(claim, ctx, &mut denied_lines, &mut edits);
    }

    let mut acc = ctx.accumulators;
    // Paid so far on this claim per category, for the annual limit.
    let mut paid_here: HashMap<&str, Decimal> = HashMap::new();
    let mut limit_edits = Vec::new();
    let mut lines = Vec::with_capacity(claim.lines.len());
    for line in &claim.lines {
        let denial = claim_denial.or_else(|| denied_lines.get(&line.line_number).copied());
        lines.push(match denial {
            Some(i) => denied_line(line, &edits[i]),
            None => {
                let mut priced = price_line(line, ctx, &mut acc);
                if let Some(category) = ctx.reference.cpt_category.get(&line.cpt) {
                    let paid = paid_here.entry(category.as_str()).or_default();
                    let limit = ctx.plan.benefits.get(category).and_then(|b| b.annual_limit);
                    if let Some(limit) = limit {
                        let already = usage(ctx, category).paid + *paid;
                        limit_edits.extend(annual_limit(&mut priced, category, limit, already));
                    }
                    *paid += priced.paid;
                }
                priced
            }
        });
    }
    // Line denials leave the rest payable; the claim is denied only by a
    // claim-level edit or when no line survives (an annual limit that leaves
    // a line nothing to pay denies it too).
    let zeroed: HashSet<u16> = limit_edits
        .iter()
        .filter(|e| e.action == Action::Deny)
        .filter_map(|e| e.line_number)
        .collect();
    edits.extend(limit_edits);
    let all_lines_denied = !claim.lines.is_empty()
        && claim
            .lines
            .iter()
            .all(|l| denied_lines.contains_key(&l.line_number) || zeroed.contains(&l.line_number));
    let action = if claim_denial.is_some() || all_lines_denied {
        Action::Deny
    } else if edits.iter().any(|e| e.action == Action::Pend) {
        Action::Pend
    } else {
        Action::Pay
    };
    let benefit_limits = benefit_limits(claim, ctx, &lines, |l| {
        claim_denial.is_none() && !denied_lines.contains_key(&l.line_number)
    });
    Adjudication {
        billed: lines.iter().map(|l| l.billed).sum(),
        paid: lines.iter().map(|l| l.paid).sum(),
        member_responsibility: lines.iter().map(|l| l.member_responsibility).sum(),
        lines,
        edits,
        action,
        benefit_limits,
    }
}

fn edit(
    code: &str,
    carc: &str,
    group: Group,
    line: Option<u16>,
    action: Action,
    overridable: bool,
    explanation: String,
) -> Edit {
    Edit {
        code: code.into(),
        carc: carc.into(),
        group,
        line_number: line,
        action,
        overridable,
        explanation,
    }
}

/// Edits that concern the whole claim.
fn claim_edits(claim: &ClaimInput, ctx: &Context) -> Vec<Edit> {
    let mut out = Vec::new();
    match ctx.eligibility {
        Eligibility::Eligible => {}
        Eligibility::NotYetEffective => out.push(edit(
            "coverage_not_yet_effective",
            "26",
            Group::PR,
            None,
            Action::Deny,
            false,
            "The member's coverage had not started on the date of service.".into(),
        )),
        Eligibility::Terminated => out.push(edit(
            "coverage_terminated",
            "27",
            Group::PR,
            None,
            Action::Deny,
            false,
            "The member's coverage had ended before the date of service.".into(),
        )),
        Eligibility::Gap => out.push(edit(
            "coverage_gap",
            "27",
            Group::PR,
            None,
            Action::Deny,
            false,
            "The date of service falls in a gap in the member's coverage.".into(),
        )),
        Eligibility::NotCovered => out.push(edit(
            "not_covered",
            "31",
            Group::CO,
            None,
            Action::Deny,
            false,
            "The patient is not covered as our member on the date of service.".into(),
        )),
    }
    if let Some(limit) = claim
        .service_to
        .checked_add_months(Months::new(FILING_LIMIT_MONTHS))
    {
        if claim.received > limit {
            out.push(edit(
                "timely_filing",
                "29",
                Group::CO,
                None,
                Action::Deny,
                true,
                format!(
                    "Received {} more than 12 months after the last date of service ({}).",
                    claim.received, claim.service_to
                ),
            ));
        }
    }
    if !npi::is_valid(&ctx.provider.npi) {
        out.push(edit(
            "invalid_npi",
            "16",
            Group::CO,
            None,
            Action::Deny,
            false,
            format!(
                "The billing provider NPI {} fails the check-digit test.",
                ctx.provider.npi
            ),
        ));
    }
    if let Some(since) = ctx.provider.excluded_since {
        if since <= claim.service_from {
            out.push(edit(
                "provider_excluded",
                "B7",
                Group::CO,
                None,
                Action::Deny,
                false,
                format!(
                    "The provider is on an exclusion list since {since}; no payment is allowed."
                ),
            ));
        }
    }
    if !ctx.provider.credentialed {
        out.push(edit(
            "provider_not_credentialed",
            "B7",
            Group::CO,
            None,
            Action::Pend,
            true,
            "The provider had no verified, current credentials on the date of service.".into(),
        ));
    }
    for dx in &claim.diagnoses {
        if !ctx.reference.icd10.contains(dx) || !looks_like_icd10(dx) {
            out.push(edit(
                "invalid_diagnosis",
                "16",
                Group::CO,
                None,
                Action::Deny,
                true,
                format!("Diagnosis code {dx} is not a valid ICD-10-CM code."),
            ));
        }
    }
    // Duplicates (CMS professional criteria): same member, provider, dates,
    // procedures, places of service and billed amounts = exact; same or
    // overlapping dates otherwise = suspect. A void bills nothing, so it
    // duplicates nothing.
    if claim.frequency != Frequency::Void {
        duplicate_edits(claim, ctx, &mut out);
    }
    out
}

/// Whether `prior` can be the original that `claim` duplicates: a live
/// claim received before this one (the later copy is the duplicate), and
/// not the claim this one replaces or voids.
fn is_earlier_live_claim(claim: &ClaimInput, prior: &PriorClaim) -> bool {
    !prior.denied_or_void
        && prior.frequency != Frequency::Void
        && claim.replaces != Some(prior.id)
        && (prior.received_at, prior.claim_number.as_str())
            < (claim.received_at, claim.claim_number.as_str())
}

fn duplicate_edits(claim: &ClaimInput, ctx: &Context, out: &mut Vec<Edit>) {
    let ours: Vec<(String, String, Decimal)> = claim
        .lines
        .iter()
        .map(|l| (l.cpt.clone(), l.place_of_service.clone(), l.billed))
        .collect();
    for prior in ctx
        .history
        .iter()
        .filter(|p| is_earlier_live_claim(claim, p))
    {
        let same_provider = prior.provider_npi == ctx.provider.npi;
        let same_dates =
            prior.service_from == claim.service_from && prior.service_to == claim.service_to;
        let overlap =
            prior.service_from <= claim.service_to && claim.service_from <= prior.service_to;
        if same_provider && same_dates && same_multiset(&prior.lines, &ours) {
            out.push(edit("exact_duplicate", "18", Group::CO, None, Action::Deny, false, format!(
                "Exact duplicate of claim {}: same member, provider, dates, services, places and charges.", prior.claim_number)));
            break;
        } else if overlap
            && (same_provider || prior.lines.iter().any(|p| ours.iter().any(|o| o.0 == p.0)))
        {
            out.push(edit(
                "suspect_duplicate",
                "18",
                Group::CO,
                None,
                Action::Pend,
                true,
                format!(
                    "Possible duplicate of claim {} (overlapping dates); compare before paying.",
                    prior.claim_number
                ),
            ));
        }
    }
}

fn same_multiset(a: &[(String, String, Decimal)], b: &[(String, String, Decimal)]) -> bool {
    let mut a: Vec<_> = a.to_vec();
    let mut b: Vec<_> = b.to_vec();
    a.sort();
    b.sort();
    a == b
}

fn looks_like_icd10(code: &str) -> bool {
    let b = code.as_bytes();
    b.len() >= 3
        && b[0].is_ascii_uppercase()
        && b[1].is_ascii_digit()
        && b[2].is_ascii_alphanumeric()
        && (b.len() == 3
            || (b[3] == b'.' && b.len() > 4 && b[4..].iter().all(u8::is_ascii_alphanumeric)))
}

fn looks_like_cpt(code: &str) -> bool {
    let b = code.as_bytes();
    b.len() == 5 && b[..4].iter().all(u8::is_ascii_digit) && b[4].is_ascii_alphanumeric()
}

/// Line-level edits; returns, per denied line, the index of its edit.
fn line_edits(claim: &ClaimInput, ctx: &Context, edits: &mut Vec<Edit>) -> HashMap<u16, usize> {
    let mut denied = HashMap::new();
    for line in &claim.lines {
        let n = line.line_number;
        if !looks_like_cpt(&line.cpt) || !ctx.reference.cpt_category.contains_key(&line.cpt) {
            edits.push(edit(
                "invalid_procedure",
                "16",
                Group::CO,
                Some(n),
                Action::Deny,
                true,
                format!("Procedure code {} is not a valid CPT/HCPCS code.", line.cpt),
            ));
            denied.insert(n, edits.len() - 1);
            continue;
        }
        let category = &ctx.reference.cpt_category[&line.cpt];
        let covered = ctx.plan.benefits.get(category).is_some_and(|b| {
            if ctx.provider.in_network {
                b.covered_in_network
            } else {
                b.covered_out_of_network
            }
        });
        if !covered {
            edits.push(edit(
                "not_covered_benefit",
                "204",
                Group::PR,
                Some(n),
                Action::Deny,
                true,
                format!(
                    "The plan does not cover {category} services {} network.",
                    if ctx.provider.in_network {
                        "in"
                    } else {
                        "out of"
                    }
                ),
            ));
            denied.insert(n, edits.len() - 1);
        }
    }
    // NCCI: column 2 is denied with column 1 on the same day, unless the
    // pair allows a modifier (indicator 1) and column 2 carries one that
    // applies. A column-1 line denied itself bundles nothing.
    for c2 in &claim.lines {
        if denied.contains_key(&c2.line_number) {
            continue;
        }
        let bundling = claim.lines.iter().find_map(|c1| {
            if c1.line_number == c2.line_number
                || c1.service_date != c2.service_date
                || denied.contains_key(&c1.line_number)
            {
                return None;
            }
            let indicator = *ctx.reference.ncci.get(&(c1.cpt.clone(), c2.cpt.clone()))?;
            let bypassed = indicator == '1' && ncci_modifier_applies(c1, c2);
            (indicator != '9' && !bypassed).then_some((c1, indicator))
        });
        let Some((c1, indicator)) = bundling else {
            continue;
        };
        edits.push(edit(
            "ncci_ptp",
            "97",
            Group::CO,
            Some(c2.line_number),
            Action::Deny,
            indicator == '1',
            format!(
                "{} is included in {} on line {} the same day (NCCI indicator {indicator}{}).",
                c2.cpt,
                c1.cpt,
                c1.line_number,
                if indicator == '1' {
                    "; a modifier such as 59, XU or an anatomic modifier may apply"
                } else {
                    "; no modifier allowed"
                }
            ),
        ));
        denied.insert(c2.line_number, edits.len() - 1);
    }
    denied
}

/// Whether column 2 carries a modifier that lets an indicator-1 pair pay.
fn ncci_modifier_applies(c1: &LineInput, c2: &LineInput) -> bool {
    c2.modifiers.iter().any(|m| {
        let m = m.as_str();
        NCCI_BYPASS.contains(&m)
            // The same site on both lines is still one procedure.
            || (NCCI_ANATOMIC.contains(&m) && !c1.modifiers.iter().any(|c| c == m))
            || (NCCI_EM_BYPASS.contains(&m) && is_evaluation_and_management(&c2.cpt))
            || (m == NCCI_LAB_BYPASS && is_clinical_lab(&c2.cpt))
    })
}

/// CPT evaluation and management codes, 99202–99499.
fn is_evaluation_and_management(cpt: &str) -> bool {
    cpt_between(cpt, 99202, 99499)
}

/// CPT pathology and laboratory codes, 80047–89398.
fn is_clinical_lab(cpt: &str) -> bool {
    cpt_between(cpt, 80047, 89398)
}

fn cpt_between(cpt: &str, low: u32, high: u32) -> bool {
    cpt.len() == 5
        && cpt.bytes().all(|b| b.is_ascii_digit())
        && cpt.parse::<u32>().is_ok_and(|n| (low..=high).contains(&n))
}

/// Benefit visit limits (CARC 119). A visit is a distinct service date in a
/// category; once the plan year's visits are used up, every line of each
/// further visit, in date order, is denied. Runs after the coding edits, so a
/// line they deny is no visit.
fn visit_limits(
    claim: &ClaimInput,
    ctx: &Context,
    denied: &mut HashMap<u16, usize>,
    edits: &mut Vec<Edit>,
) {
    let mut visits: BTreeMap<(&str, NaiveDate), Vec<u16>> = BTreeMap::new();
    for line in claim
        .lines
        .iter()
        .filter(|l| !denied.contains_key(&l.line_number))
    {
        if let Some(category) = ctx.reference.cpt_category.get(&line.cpt) {
            visits
                .entry((category.as_str(), line.service_date))
                .or_default()
                .push(line.line_number);
        }
    }
    // Visits used per category: before this claim, then this claim's so far.
    let mut used: HashMap<&str, u32> = HashMap::new();
    for ((category, _), line_numbers) in visits {
        let Some(limit) = ctx.plan.benefits.get(category).and_then(|b| b.visit_limit) else {
            continue;
        };
        let used = used
            .entry(category)
            .or_insert_with(|| usage(ctx, category).visits);
        if *used < limit {
            *used += 1;
            continue;
        }
        for n in line_numbers {
            edits.push(edit(
                "benefit_visit_limit",
                "119",
                Group::PR,
                Some(n),
                Action::Deny,
                false,
                format!(
                    "{}: {used} of {limit} visits this plan year already used (limit {limit}).",
                    category_words(category)
                ),
            ));
            denied.insert(n, edits.len() - 1);
        }
    }
}

/// Caps a priced line's payment at what is left of its category's annual
/// limit (CARC 119); the cut moves to the member. The cost share stays as
/// priced, so the deductible and out-of-pocket accumulators never see it.
fn annual_limit(
    line: &mut LineResult,
    category: &str,
    limit: Decimal,
    already_paid: Decimal,
) -> Option<Edit> {
    let room = (limit - already_paid).max(Decimal::ZERO);
    let cut = line.paid - room;
    if cut <= Decimal::ZERO {
        return None;
    }
    line.paid -= cut;
    line.member_responsibility += cut;
    line.adjustments.push(Adjustment {
        group: Group::PR,
        carc: "119".into(),
        amount: cut,
    });
    Some(edit(
        "benefit_annual_limit",
        "119",
        Group::PR,
        Some(line.line_number),
        if line.paid.is_zero() {
            Action::Deny
        } else {
            Action::Pay
        },
        false,
        format!(
            "{}: {} of the {} annual limit was already paid; this line pays {}.",
            category_words(category),
            amount(already_paid),
            amount(limit),
            amount(line.paid)
        ),
    ))
}

/// One entry per limited category among the claim's lines. `counted` says
/// whether a line was allowed, so its date counts as a visit.
fn benefit_limits(
    claim: &ClaimInput,
    ctx: &Context,
    results: &[LineResult],
    counted: impl Fn(&LineInput) -> bool,
) -> Vec<BenefitLimitUse> {
    let mut by_category: BTreeMap<&str, (BTreeSet<NaiveDate>, Decimal)> = BTreeMap::new();
    for (line, result) in claim.lines.iter().zip(results) {
        let Some(category) = ctx.reference.cpt_category.get(&line.cpt) else {
            continue;
        };
        let limited = ctx
            .plan
            .benefits
            .get(category)
            .is_some_and(|b| b.visit_limit.is_some() || b.annual_limit.is_some());
        if !limited {
            continue;
        }
        let (dates, paid) = by_category.entry(category.as_str()).or_default();
        if counted(line) {
            dates.insert(line.service_date);
        }
        *paid += result.paid;
    }
    by_category
        .into_iter()
        .map(|(category, (dates, paid))| {
            let benefit = &ctx.plan.benefits[category];
            let before = usage(ctx, category);
            BenefitLimitUse {
                benefit_category: category.to_string(),
                visit_limit: benefit.visit_limit,
                visits_before: before.visits,
                visits_this_claim: u32::try_from(dates.len()).unwrap_or(u32::MAX),
                annual_limit: benefit.annual_limit,
                paid_before: before.paid,
                paid_this_claim: paid,
            }
        })
        .collect()
}

fn usage(ctx: &Context, category: &str) -> BenefitUsage {
    ctx.benefit_usage.get(category).copied().unwrap_or_default()
}

/// "office_visit" reads "Office visit".
fn category_words(category: &str) -> String {
    let words = category.replace('_', " ");
    let mut chars = words.chars();
    match chars.next() {
        Some(first) => first.to_uppercase().chain(chars).collect(),
        None => words,
    }
}

/// Money for the screen: 1,450.00.
fn amount(v: Decimal) -> String {
    let v = money(v);
    let digits = format!("{:.2}", v.abs());
    let (whole, cents) = digits.split_once('.').unwrap_or((&digits, "00"));
    let mut out = String::with_capacity(digits.len() + whole.len() / 3 + 1);
    if v.is_sign_negative() && !v.is_zero() {
        out.push('-');
    }
    for (i, ch) in whole.chars().enumerate() {
        if i > 0 && (whole.len() - i) % 3 == 0 {
            out.push(',');
        }
        out.push(ch);
    }
    out.push('.');
    out.push_str(cents);
    out
}

fn denied_line(line: &LineInput, edit: &Edit) -> LineResult {
    LineResult {
        line_number: line.line_number,
        billed: line.billed,
        allowed: Decimal::ZERO,
        deductible: Decimal::ZERO,
        copay: Decimal::ZERO,
        coinsurance: Decimal::ZERO,
        paid: Decimal::ZERO,
        member_responsibility: if edit.group == Group::PR {
            line.billed
        } else {
            Decimal::ZERO
        },
        // Nothing billed, nothing to adjust (an 835 adjustment is never 0).
        adjustments: if line.billed.is_zero() {
            vec![]
        } else {
            vec![Adjustment {
                group: edit.group,
                carc: edit.carc.clone(),
                amount: line.billed,
            }]
        },
        rarc: if edit.code == "ncci_ptp" {
            vec!["M15".into()]
        } else {
            vec!["N130".into()]
        },
    }
}

/// Prices one payable line and advances the running accumulators.
fn price_line(line: &LineInput, ctx: &Context, acc: &mut Accumulators) -> LineResult {
    let plan = &ctx.plan;
    let in_network = ctx.provider.in_network;
    let benefit = ctx
        .reference
        .cpt_category
        .get(&line.cpt)
        .and_then(|c| plan.benefits.get(c));
    let modifier = line.modifiers.first().cloned().unwrap_or_default();
    let rate = ctx
        .fee_schedule
        .get(&(line.cpt.clone(), modifier))
        .or_else(|| ctx.fee_schedule.get(&(line.cpt.clone(), String::new())));
    let allowed = match rate {
        Some(per_unit) if in_network => money(*per_unit * line.units),
        _ => money(line.billed * ctx.out_of_network_allowed_percent / Decimal::ONE_HUNDRED),
    }
    .min(line.billed)
    .max(Decimal::ZERO);

    // Room left under each cap; the tighter of individual and family wins.
    let deductible_room = (plan.deductible_individual - acc.individual_deductible)
        .min(plan.deductible_family - acc.family_deductible)
        .max(Decimal::ZERO);
    let oop_room = (plan.oop_max_individual - acc.individual_oop)
        .min(plan.oop_max_family - acc.family_oop)
        .max(Decimal::ZERO);

    let copay_amount = benefit.map_or(Decimal::ZERO, |b| {
        if in_network {
            b.copay_in_network
        } else {
            b.copay_out_of_network
        }
    });
    let deductible_applies = benefit.is_none_or(|b| b.deductible_applies);
    let coinsurance_rate = if in_network {
        plan.coinsurance_in_network
    } else {
        plan.coinsurance_out_of_network
    };

    let mut room = oop_room;
    let copay = copay_amount.min(allowed).min(room);
    room -= copay;
    let deductible = if deductible_applies {
        deductible_room.min(allowed - copay).min(room)
    } else {
        Decimal::ZERO
    };
    room -= deductible;
    let coinsurance =
        money((allowed - copay - deductible) * coinsurance_rate / Decimal::ONE_HUNDRED).min(room);
    let member = copay + deductible + coinsurance;
    let paid = allowed - member;

    acc.individual_deductible += deductible;
    acc.family_deductible += deductible;
    acc.individual_oop += member;
    acc.family_oop += member;

    let mut adjustments = Vec::new();
    let mut push = |group, carc: &str, amount: Decimal| {
        if !amount.is_zero() {
            adjustments.push(Adjustment {
                group,
                carc: carc.into(),
                amount,
            });
        }
    };
    push(Group::CO, "45", line.billed - allowed);
    push(Group::PR, "1", deductible);
    push(Group::PR, "2", coinsurance);
    push(Group::PR, "3", copay);
    LineResult {
        line_number: line.line_number,
        billed: line.billed,
        allowed,
        deductible,
        copay,
        coinsurance,
        paid,
        member_responsibility: member,
        adjustments,
        rarc: if in_network {
            vec![]
        } else {
            vec!["N381".into()]
        },
    }
}

/// Builders shared by the unit tests, the property tests and the benchmark.
pub mod fixtures {
    use super::*;

    /// A date, for brevity.
    pub fn d(y: i32, m: u32, day: u32) -> NaiveDate {
        NaiveDate::from_ymd_opt(y, m, day).expect("valid date")
    }

    /// Parses a money literal.
    pub fn m(s: &str) -> Decimal {
        s.parse().expect("decimal literal")
    }

    /// A PPO with a 1,000 deductible, 20% coinsurance and generous caps;
    /// office visits carry a 25.00 copay outside the deductible.
    pub fn context() -> Context {
        let benefit = |copay: &str, deductible_applies| CategoryBenefit {
            copay_in_network: m(copay),
            copay_out_of_network: m(copay) * Decimal::TWO,
            deductible_applies,
            covered_in_network: true,
            covered_out_of_network: true,
            visit_limit: None,
            annual_limit: None,
        };
        let mut benefits = HashMap::new();
        benefits.insert("surgery".to_string(), benefit("0", true));
        benefits.insert("office_visit".to_string(), benefit("25", false));
        benefits.insert("lab".to_string(), benefit("0", true));
        let mut cpt_category = HashMap::new();
        for (code, cat) in [
            ("29881", "surgery"),
            ("29880", "surgery"),
            ("20610", "surgery"),
            ("20611", "surgery"),
            ("99213", "office_visit"),
            ("80053", "lab"),
            ("80048", "lab"),
            ("97140", "surgery"),
            ("97530", "surgery"),
        ] {
            cpt_category.insert(code.to_string(), cat.to_string());
        }
        let mut ncci = HashMap::new();
        ncci.insert(("80053".into(), "80048".into()), '0');
        ncci.insert(("29881".into(), "29880".into()), '1');
        ncci.insert(("20611".into(), "20610".into()), '9');
        let mut fee_schedule = HashMap::new();
        fee_schedule.insert(("29881".into(), String::new()), m("1200.00"));
        fee_schedule.insert(("99213".into(), String::new()), m("90.00"));
        fee_schedule.insert(("80053".into(), String::new()), m("30.00"));
        fee_schedule.insert(("80048".into(), String::new()), m("20.00"));
        Context {
            eligibility: Eligibility::Eligible,
            plan: Plan {
                deductible_individual: m("1000"),
                deductible_family: m("2000"),
                oop_max_individual: m("5000"),
                oop_max_family: m("10000"),
                coinsurance_in_network: m("20"),
                coinsurance_out_of_network: m("40"),
                benefits,
            },
            accumulators: Accumulators::default(),
            fee_schedule,
            out_of_network_allowed_percent: m("60"),
            provider: Provider {
                npi: "1234567893".into(),
                in_network: true,
                excluded_since: None,
                credentialed: true,
            },
            history: Vec::new(),
            benefit_usage: HashMap::new(),
            reference: Reference {
                cpt_category,
                icd10: ["M17.11", "J06.9", "E11.9"]
                    .into_iter()
                    .map(String::from)
                    .collect(),
                ncci,
            },
        }
    }

    /// A claim line.
    pub fn line(n: u16, cpt: &str, billed: &str) -> LineInput {
        LineInput {
            line_number: n,
            service_date: d(2026, 3, 2),
            cpt: cpt.into(),
            modifiers: Vec::new(),
            place_of_service: "11".into(),
            units: Decimal::ONE,
            billed: m(billed),
        }
    }

    /// Noon UTC on a day, for receipt instants.
    pub fn noon(day: NaiveDate) -> DateTime<Utc> {
        day.and_hms_opt(12, 0, 0).expect("valid time").and_utc()
    }

    /// An original claim on 2026-03-02, received 2026-03-10 at noon UTC.
    pub fn claim(lines: Vec<LineInput>) -> ClaimInput {
        let received = d(2026, 3, 10);
        ClaimInput {
            id: uuid::Uuid::from_u128(0xC1A1_0000_0000_0001),
            claim_number: "CLM-20260310-000001".into(),
            received_at: noon(received),
            frequency: Frequency::Original,
            replaces: None,
            service_from: d(2026, 3, 2),
            service_to: d(2026, 3, 2),
            received,
            member_id: uuid::Uuid::nil(),
            diagnoses: vec!["M17.11".into()],
            lines,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::fixtures::*;
    use super::*;

    fn adj(line: &LineResult) -> Vec<(Group, &str, Decimal)> {
        line.adjustments
            .iter()
            .map(|a| (a.group, a.carc.as_str(), a.amount))
            .collect()
    }

    fn balanced(result: &Adjudication) {
        for l in &result.lines {
            let adjustments: Decimal = l.adjustments.iter().map(|a| a.amount).sum();
            assert_eq!(
                l.billed,
                l.paid + adjustments,
                "line {} does not balance",
                l.line_number
            );
        }
        assert_eq!(result.billed, result.paid + result.adjustments_total());
    }

    #[test]
    fn worked_example_to_the_cent() {
        // Billed 2,000.00; allowed 1,200.00; 300.00 of deductible left; 20 %.
        let mut ctx = context();
        ctx.accumulators.individual_deductible = m("700");
        ctx.accumulators.family_deductible = m("700");
        let result = adjudicate(&claim(vec![line(1, "29881", "2000.00")]), &ctx);
        let l = &result.lines[0];
        assert_eq!(
            adj(l),
            vec![
                (Group::CO, "45", m("800.00")),
                (Group::PR, "1", m("300.00")),
                (Group::PR, "2", m("180.00"))
            ]
        );
        assert_eq!(l.paid, m("720.00"));
        assert_eq!(l.member_responsibility, m("480.00"));
        assert_eq!(result.action, Action::Pay);
        assert!(result.edits.is_empty());
        balanced(&result);
    }

    #[test]
    fn copay_benefits_skip_the_deductible() {
        let result = adjudicate(&claim(vec![line(1, "99213", "150.00")]), &context());
        let l = &result.lines[0];
        assert_eq!(
            (l.allowed, l.copay, l.deductible, l.coinsurance, l.paid),
            (m("90"), m("25"), m("0"), m("13.00"), m("52.00"))
        );
        balanced(&result);
    }

    #[test]
    fn out_of_pocket_max_caps_the_member_share_individual_and_family() {
        let mut ctx = context();
        ctx.accumulators = Accumulators {
            individual_deductible: m("1000"),
            individual_oop: m("4950"),
            family_deductible: m("1000"),
            family_oop: m("4950"),
        };
        let l = &adjudicate(&claim(vec![line(1, "29881", "2000.00")]), &ctx).lines[0];
        assert_eq!(l.member_responsibility, m("50"), "only 50 of room left");
        assert_eq!(l.paid, m("1150.00"));

        // The family cap binds before the individual one.
        ctx.accumulators = Accumulators {
            individual_deductible: m("0"),
            individual_oop: m("0"),
            family_deductible: m("1990"),
            family_oop: m("9990"),
        };
        let l = &adjudicate(&claim(vec![line(1, "29881", "2000.00")]), &ctx).lines[0];
        assert_eq!((l.deductible, l.member_responsibility), (m("10"), m("10")));
    }

    /// The fixture claim's twin, received five days earlier.
    fn prior() -> PriorClaim {
        PriorClaim {
            id: uuid::Uuid::from_u128(0xC1A1_0000_0000_0002),
            claim_number: "CLM-20260305-000001".into(),
            received_at: noon(d(2026, 3, 5)),
            frequency: Frequency::Original,
            provider_npi: "1234567893".into(),
            service_from: d(2026, 3, 2),
            service_to: d(2026, 3, 2),
            denied_or_void: false,
            lines: vec![("29881".into(), "11".into(), m("2000.00"))],
        }
    }

    fn codes(result: &Adjudication) -> Vec<&str> {
        result.edits.iter().map(|e| e.code.as_str()).collect()
    }

    fn fired(result: &Adjudication, code: &str) -> Edit {
        result
            .edits
            .iter()
            .find(|e| e.code == code)
            .cloned()
            .unwrap_or_else(|| panic!("{code} did not fire: {:?}", result.edits))
    }

    #[test]
    fn every_edit_fires_with_its_carc() {
        let base = claim(vec![line(1, "29881", "2000.00")]);
        let check = |ctx: &Context,
                     c: &ClaimInput,
                     code: &str,
                     carc: &str,
                     group: Group,
                     action: Action| {
            let result = adjudicate(c, ctx);
            let e = fired(&result, code);
            assert_eq!(
                (e.carc.as_str(), e.group, e.action),
                (carc, group, action),
                "{code}"
            );
            assert!(!e.explanation.is_empty());
            balanced(&result);
            result
        };
        for (elig, code, carc) in [
            (
                Eligibility::NotYetEffective,
                "coverage_not_yet_effective",
                "26",
            ),
            (Eligibility::Terminated, "coverage_terminated", "27"),
        ] {
            let mut ctx = context();
            ctx.eligibility = elig;
            let r = check(&ctx, &base, code, carc, Group::PR, Action::Deny);
            assert_eq!((r.action, r.paid), (Action::Deny, Decimal::ZERO));
        }

        let mut late = base.clone();
        late.received = d(2027, 3, 3);
        check(
            &context(),
            &late,
            "timely_filing",
            "29",
            Group::CO,
            Action::Deny,
        );
        let mut on_time = base.clone();
        on_time.received = d(2027, 3, 2);
        assert!(
            adjudicate(&on_time, &context()).edits.is_empty(),
            "12 months to the day is in time"
        );

        let mut ctx = context();
        ctx.history.push(prior());
        let r = check(
            &ctx,
            &base,
            "exact_duplicate",
            "18",
            Group::CO,
            Action::Deny,
        );
        assert!(
            !fired(&r, "exact_duplicate").overridable,
            "an exact duplicate cannot be overridden"
        );

        ctx.history[0].lines[0].2 = m("1999.00");
        let r = check(
            &ctx,
            &base,
            "suspect_duplicate",
            "18",
            Group::CO,
            Action::Pend,
        );
        assert_eq!(r.action, Action::Pend);
        ctx.history[0].denied_or_void = true;
        assert!(
            adjudicate(&base, &ctx).edits.is_empty(),
            "a denied prior claim is no duplicate"
        );

        // NCCI: indicator 0 denies column 2 even with a modifier.
        let mut panel = claim(vec![line(1, "80053", "60.00"), line(2, "80048", "40.00")]);
        panel.lines[1].modifiers = vec!["59".into()];
        let r = check(
            &context(),
            &panel,
            "ncci_ptp",
            "97",
            Group::CO,
            Action::Deny,
        );
        assert_eq!(fired(&r, "ncci_ptp").line_number, Some(2));
        assert!(r.lines[0].allowed > Decimal::ZERO && r.lines[1].allowed.is_zero());
        assert_eq!(r.action, Action::Pay, "line 1 is still paid");
        // Indicator 1: denied without a modifier, paid with XS.
        let mut knee = claim(vec![
            line(1, "29881", "2000.00"),
            line(2, "29880", "1800.00"),
        ]);
        check(&context(), &knee, "ncci_ptp", "97", Group::CO, Action::Deny);
        knee.lines[1].modifiers = vec!["XS".into()];
        assert!(adjudicate(&knee, &context()).edits.is_empty());
        // Indicator 9: the edit does not apply.
        assert!(adjudicate(
            &claim(vec![line(1, "20611", "300"), line(2, "20610", "200")]),
            &context()
        )
        .edits
        .is_empty());

        let mut ctx = context();
        ctx.provider.excluded_since = Some(d(2025, 1, 1));
        check(
            &ctx,
            &base,
            "provider_excluded",
            "B7",
            Group::CO,
            Action::Deny,
        );
        let mut ctx = context();
        ctx.provider.excluded_since = Some(d(2026, 6, 1));
        assert!(
            adjudicate(&base, &ctx).edits.is_empty(),
            "excluded only after the date of service"
        );
        let mut ctx = context();
        ctx.provider.credentialed = false;
        check(
            &ctx,
            &base,
            "provider_not_credentialed",
            "B7",
            Group::CO,
            Action::Pend,
        );
        let mut ctx = context();
        ctx.provider.npi = "1234567891".into();
        check(&ctx, &base, "invalid_npi", "16", Group::CO, Action::Deny);

        let r = check(
            &context(),
            &claim(vec![line(1, "2988", "10")]),
            "invalid_procedure",
            "16",
            Group::CO,
            Action::Deny,
        );
        assert_eq!(r.action, Action::Deny, "no line left to pay");
        let mut bad_dx = base.clone();
        bad_dx.diagnoses = vec!["M1711".into()];
        check(
            &context(),
            &bad_dx,
            "invalid_diagnosis",
            "16",
            Group::CO,
            Action::Deny,
        );
    }

    #[test]
    fn out_of_network_uses_the_percentage_and_out_of_network_coinsurance() {
        let mut ctx = context();
        ctx.provider.in_network = false;
        ctx.accumulators.individual_deductible = m("1000");
        ctx.accumulators.family_deductible = m("1000");
        let l = &adjudicate(&claim(vec![line(1, "29881", "2000.00")]), &ctx).lines[0];
        assert_eq!(
            (l.allowed, l.coinsurance, l.paid),
            (m("1200.00"), m("480.00"), m("720.00"))
        );
        assert_eq!(l.rarc, vec!["N381".to_string()]);
    }

    #[test]
    fn frequency_reads_clm05_3() {
        assert_eq!(Frequency::from_code("1"), Some(Frequency::Original));
        assert_eq!(Frequency::from_code("7"), Some(Frequency::Replacement));
        assert_eq!(Frequency::from_code("8"), Some(Frequency::Void));
        assert_eq!(Frequency::from_code("6"), None);
    }

    #[test]
    fn an_earlier_claim_is_not_a_duplicate_of_a_later_one() {
        let base = claim(vec![line(1, "29881", "2000.00")]);
        let mut ctx = context();
        let mut later = prior();
        later.received_at = noon(d(2026, 3, 12));
        ctx.history.push(later);
        assert!(adjudicate(&base, &ctx).edits.is_empty());

        // Received the same instant: the claim number decides.
        ctx.history[0].received_at = base.received_at;
        ctx.history[0].claim_number = "CLM-20260310-000002".into();
        assert!(adjudicate(&base, &ctx).edits.is_empty());
        ctx.history[0].claim_number = "CLM-20260310-000000".into();
        fired(&adjudicate(&base, &ctx), "exact_duplicate");
        // The claim itself on file is no duplicate of itself.
        ctx.history[0].claim_number = base.claim_number.clone();
        assert!(adjudicate(&base, &ctx).edits.is_empty());
    }

    #[test]
    fn a_replacement_is_not_a_duplicate_of_the_claim_it_replaces() {
        let mut ctx = context();
        ctx.history.push(prior());
        let mut replacement = claim(vec![line(1, "29881", "2000.00")]);
        replacement.frequency = Frequency::Replacement;
        replacement.replaces = Some(prior().id);
        assert!(adjudicate(&replacement, &ctx).edits.is_empty());
        replacement.lines[0].billed = m("1999.00");
        assert!(
            adjudicate(&replacement, &ctx).edits.is_empty(),
            "nor a suspect one"
        );
    }

    #[test]
    fn a_void_gets_no_duplicate_edit() {
        let mut ctx = context();
        ctx.history.push(prior());
        let mut void = claim(vec![line(1, "29881", "2000.00")]);
        void.frequency = Frequency::Void;
        assert!(adjudicate(&void, &ctx).edits.is_empty());
        // Nor is an earlier void on file the original of anything.
        ctx.history[0].frequency = Frequency::Void;
        let original = claim(vec![line(1, "29881", "2000.00")]);
        assert!(adjudicate(&original, &ctx).edits.is_empty());
    }

    #[test]
    fn an_older_prior_that_is_not_replaced_is_still_a_duplicate() {
        let mut ctx = context();
        ctx.history.push(prior());
        let mut replacement = claim(vec![line(1, "29881", "2000.00")]);
        replacement.frequency = Frequency::Replacement;
        replacement.replaces = Some(uuid::Uuid::from_u128(0xC1A1_0000_0000_0099));
        fired(&adjudicate(&replacement, &ctx), "exact_duplicate");
        replacement.lines[0].billed = m("1999.00");
        fired(&adjudicate(&replacement, &ctx), "suspect_duplicate");
        // A prior that itself replaced something counts like any other.
        ctx.history[0].frequency = Frequency::Replacement;
        fired(&adjudicate(&replacement, &ctx), "suspect_duplicate");
    }

    #[test]
    fn every_prior_is_examined() {
        let mut ctx = context();
        for i in 0..200u32 {
            let mut other = prior();
            other.id = uuid::Uuid::from_u128(0xC1A1_0001_0000_0000 + u128::from(i));
            other.claim_number = format!("CLM-20250101-{i:06}");
            other.provider_npi = "1245319599".into();
            other.service_from = d(2025, 1, 1) + chrono::Days::new(u64::from(i));
            other.service_to = other.service_from;
            ctx.history.push(other);
        }
        ctx.history.push(prior());
        let result = adjudicate(&claim(vec![line(1, "29881", "2000.00")]), &ctx);
        assert_eq!(codes(&result), vec!["exact_duplicate"]);
        assert!(fired(&result, "exact_duplicate")
            .explanation
            .contains("CLM-20260305-000001"));
    }

    /// Lines 1 and 2 on one day, with modifiers on each.
    fn pair(c1: (&str, &[&str]), c2: (&str, &[&str])) -> ClaimInput {
        let with = |n, (cpt, mods): (&str, &[&str])| LineInput {
            modifiers: mods.iter().map(|m| m.to_string()).collect(),
            ..line(n, cpt, "100.00")
        };
        claim(vec![with(1, c1), with(2, c2)])
    }

    fn ncci_denies_line_2(ctx: &Context, c: &ClaimInput) -> bool {
        let result = adjudicate(c, ctx);
        balanced(&result);
        result
            .edits
            .iter()
            .any(|e| e.code == "ncci_ptp" && e.line_number == Some(2))
    }

    #[test]
    fn ncci_distinct_service_modifiers_bypass_any_column_two() {
        let ctx = context();
        assert!(ncci_denies_line_2(
            &ctx,
            &pair(("29881", &[]), ("29880", &[]))
        ));
        for modifier in ["59", "XE", "XS", "XP", "XU"] {
            assert!(
                !ncci_denies_line_2(&ctx, &pair(("29881", &[]), ("29880", &[modifier]))),
                "{modifier}"
            );
        }
        // On column 1 they do nothing.
        assert!(ncci_denies_line_2(
            &ctx,
            &pair(("29881", &["59"]), ("29880", &[]))
        ));
    }

    #[test]
    fn ncci_anatomic_modifiers_bypass_only_on_another_site() {
        let ctx = context();
        let same_knee = pair(("29881", &["LT"]), ("29880", &["LT"]));
        assert!(ncci_denies_line_2(&ctx, &same_knee));
        let other_knee = pair(("29881", &["LT"]), ("29880", &["RT"]));
        assert!(!ncci_denies_line_2(&ctx, &other_knee));
        assert!(!ncci_denies_line_2(
            &ctx,
            &pair(("29881", &["F1"]), ("29880", &["F2"]))
        ));
        assert!(ncci_denies_line_2(
            &ctx,
            &pair(("29881", &["T5"]), ("29880", &["T5"]))
        ));
        let explanation = fired(&adjudicate(&same_knee, &ctx), "ncci_ptp").explanation;
        assert!(
            explanation.contains("a modifier such as 59, XU or an anatomic modifier may apply"),
            "{explanation}"
        );
    }

    #[test]
    fn ncci_em_modifiers_bypass_only_on_an_em_column_two() {
        let mut ctx = context();
        ctx.reference
            .ncci
            .insert(("29881".into(), "99213".into()), '1');
        for modifier in ["25", "57", "24"] {
            assert!(
                !ncci_denies_line_2(&ctx, &pair(("29881", &[]), ("99213", &[modifier]))),
                "{modifier} on an E/M"
            );
            assert!(
                ncci_denies_line_2(&ctx, &pair(("29881", &[]), ("29880", &[modifier]))),
                "{modifier} on a procedure"
            );
        }
        assert!(ncci_denies_line_2(
            &ctx,
            &pair(("29881", &[]), ("99213", &[]))
        ));
    }

    #[test]
    fn ncci_91_bypasses_only_on_a_lab_column_two() {
        let mut ctx = context();
        ctx.reference
            .ncci
            .insert(("80053".into(), "80048".into()), '1');
        assert!(!ncci_denies_line_2(
            &ctx,
            &pair(("80053", &[]), ("80048", &["91"]))
        ));
        assert!(ncci_denies_line_2(
            &ctx,
            &pair(("29881", &[]), ("29880", &["91"]))
        ));
        // Indicator 0 is never bypassed.
        assert!(ncci_denies_line_2(
            &context(),
            &pair(("80053", &[]), ("80048", &["91"]))
        ));
    }

    #[test]
    fn a_denied_column_one_bundles_nothing() {
        // Column 1 not covered: column 2 pays on its own.
        let mut ctx = context();
        ctx.reference
            .ncci
            .insert(("99213".into(), "80053".into()), '0');
        ctx.plan
            .benefits
            .get_mut("office_visit")
            .expect("office visits")
            .covered_in_network = false;
        let result = adjudicate(&pair(("99213", &[]), ("80053", &[])), &ctx);
        assert_eq!(codes(&result), vec!["not_covered_benefit"]);
        assert_eq!(result.lines[1].allowed, m("30.00"));

        // Column 1 bundled itself by an earlier NCCI pair.
        let mut ctx = context();
        ctx.reference
            .ncci
            .insert(("29880".into(), "20610".into()), '0');
        let c = claim(vec![
            line(1, "29881", "2000.00"),
            line(2, "29880", "1800.00"),
            line(3, "20610", "200.00"),
        ]);
        let result = adjudicate(&c, &ctx);
        let ncci: Vec<_> = result
            .edits
            .iter()
            .filter(|e| e.code == "ncci_ptp")
            .map(|e| e.line_number)
            .collect();
        assert_eq!(ncci, vec![Some(2)]);
        assert!(result.lines[2].allowed > Decimal::ZERO);
        balanced(&result);
    }

    fn office_visits_limited_to(visits: u32, used: u32) -> Context {
        let mut ctx = context();
        ctx.plan
            .benefits
            .get_mut("office_visit")
            .expect("office visits")
            .visit_limit = Some(visits);
        ctx.benefit_usage.insert(
            "office_visit".into(),
            BenefitUsage {
                visits: used,
                paid: Decimal::ZERO,
            },
        );
        ctx
    }

    #[test]
    fn the_visit_limit_pays_the_last_visit_and_denies_the_next() {
        let visit = claim(vec![line(1, "99213", "150.00")]);
        let result = adjudicate(&visit, &office_visits_limited_to(20, 19));
        assert!(result.edits.is_empty(), "{:?}", result.edits);
        assert_eq!(result.lines[0].paid, m("52.00"));

        let result = adjudicate(&visit, &office_visits_limited_to(20, 20));
        let e = fired(&result, "benefit_visit_limit");
        assert_eq!(
            (
                e.carc.as_str(),
                e.group,
                e.action,
                e.overridable,
                e.line_number
            ),
            ("119", Group::PR, Action::Deny, false, Some(1))
        );
        assert_eq!(
            e.explanation,
            "Office visit: 20 of 20 visits this plan year already used (limit 20)."
        );
        let l = &result.lines[0];
        assert_eq!(adj(l), vec![(Group::PR, "119", m("150.00"))]);
        assert_eq!((l.paid, l.member_responsibility), (m("0"), m("150.00")));
        assert_eq!(result.action, Action::Deny);
        balanced(&result);
    }

    #[test]
    fn lines_on_one_date_are_one_visit() {
        let mut c = claim(vec![
            line(1, "99213", "150.00"),
            line(2, "99213", "150.00"),
            line(3, "99213", "150.00"),
        ]);
        c.lines[2].service_date = d(2026, 3, 4);
        c.service_to = d(2026, 3, 4);
        let result = adjudicate(&c, &office_visits_limited_to(20, 19));
        assert_eq!(codes(&result), vec!["benefit_visit_limit"]);
        assert_eq!(fired(&result, "benefit_visit_limit").line_number, Some(3));
        assert!(result.lines[0].paid > Decimal::ZERO && result.lines[1].paid > Decimal::ZERO);
        assert_eq!(result.action, Action::Pay);
        assert_eq!(result.benefit_limits[0].visits_this_claim, 1);
        balanced(&result);
    }

    #[test]
    fn a_line_denied_by_another_edit_uses_no_visit() {
        let mut ctx = office_visits_limited_to(20, 19);
        ctx.reference
            .ncci
            .insert(("29881".into(), "99213".into()), '0');
        let mut c = claim(vec![
            line(1, "29881", "2000.00"),
            line(2, "99213", "150.00"),
            line(3, "99213", "150.00"),
        ]);
        c.lines[2].service_date = d(2026, 3, 4);
        c.service_to = d(2026, 3, 4);
        let result = adjudicate(&c, &ctx);
        assert_eq!(
            codes(&result),
            vec!["ncci_ptp"],
            "the 3-4 visit is the 20th"
        );
        assert!(result.lines[2].paid > Decimal::ZERO);
    }

    fn surgery_limited_to(limit: &str, paid_before: &str) -> Context {
        let mut ctx = context();
        ctx.plan
            .benefits
            .get_mut("surgery")
            .expect("surgery")
            .annual_limit = Some(m(limit));
        ctx.benefit_usage.insert(
            "surgery".into(),
            BenefitUsage {
                visits: 0,
                paid: m(paid_before),
            },
        );
        // Deductible met; 300.00 of out-of-pocket room left.
        ctx.accumulators = Accumulators {
            individual_deductible: m("1000"),
            individual_oop: m("4700"),
            family_deductible: m("1000"),
            family_oop: m("4700"),
        };
        ctx
    }

    #[test]
    fn a_partly_used_annual_limit_caps_the_payment_and_moves_the_rest_to_the_member() {
        let ctx = surgery_limited_to("1500", "1450");
        let c = claim(vec![
            line(1, "29881", "2000.00"),
            line(2, "99213", "150.00"),
        ]);
        let result = adjudicate(&c, &ctx);
        let l = &result.lines[0];
        // Allowed 1,200.00; coinsurance 240.00 as priced; the plan's 960.00
        // is cut to the 50.00 left.
        assert_eq!(
            adj(l),
            vec![
                (Group::CO, "45", m("800.00")),
                (Group::PR, "2", m("240.00")),
                (Group::PR, "119", m("910.00"))
            ]
        );
        assert_eq!(
            (l.allowed, l.deductible, l.coinsurance, l.paid),
            (m("1200.00"), m("0"), m("240.00"), m("50.00"))
        );
        assert_eq!(l.member_responsibility, m("1150.00"));
        let e = fired(&result, "benefit_annual_limit");
        assert_eq!(
            (
                e.carc.as_str(),
                e.group,
                e.action,
                e.overridable,
                e.line_number
            ),
            ("119", Group::PR, Action::Pay, false, Some(1))
        );
        assert_eq!(
            e.explanation,
            "Surgery: 1,450.00 of the 1,500.00 annual limit was already paid; this line pays 50.00."
        );
        // The cut is no cost share: 60.00 of out-of-pocket room is left for
        // the office visit's 25.00 copay and 13.00 coinsurance.
        let visit = &result.lines[1];
        assert_eq!((visit.copay, visit.coinsurance), (m("25"), m("13.00")));
        assert_eq!(result.action, Action::Pay);
        balanced(&result);
    }

    #[test]
    fn the_annual_limit_counts_earlier_lines_of_the_claim() {
        let ctx = surgery_limited_to("2000", "1000");
        let mut c = claim(vec![
            line(1, "29881", "2000.00"),
            line(2, "29881", "2000.00"),
        ]);
        c.lines[1].service_date = d(2026, 3, 3);
        c.service_to = d(2026, 3, 3);
        let result = adjudicate(&c, &ctx);
        // Line 1 pays 960.00 of the 1,000.00 left; line 2 the last 40.00.
        assert_eq!(result.lines[0].paid, m("960.00"));
        assert_eq!(result.lines[1].paid, m("40.00"));
        assert!(fired(&result, "benefit_annual_limit")
            .explanation
            .starts_with("Surgery: 1,960.00 of the 2,000.00"));
        balanced(&result);
    }

    #[test]
    fn a_used_up_annual_limit_pays_nothing_and_denies() {
        let ctx = surgery_limited_to("1500", "1500");
        let result = adjudicate(&claim(vec![line(1, "29881", "2000.00")]), &ctx);
        let l = &result.lines[0];
        assert_eq!(
            adj(l),
            vec![
                (Group::CO, "45", m("800.00")),
                (Group::PR, "2", m("240.00")),
                (Group::PR, "119", m("960.00"))
            ]
        );
        assert_eq!((l.paid, l.member_responsibility), (m("0"), m("1200.00")));
        assert_eq!(fired(&result, "benefit_annual_limit").action, Action::Deny);
        assert_eq!(result.action, Action::Deny, "no line pays");
        balanced(&result);
    }

    #[test]
    fn benefit_limits_summarise_each_limited_category() {
        let mut ctx = surgery_limited_to("1500", "1450");
        ctx.plan
            .benefits
            .get_mut("office_visit")
            .expect("office visits")
            .visit_limit = Some(20);
        ctx.benefit_usage.insert(
            "office_visit".into(),
            BenefitUsage {
                visits: 19,
                paid: m("1000.00"),
            },
        );
        let mut c = claim(vec![
            line(1, "99213", "150.00"),
            line(2, "29881", "2000.00"),
            line(3, "80053", "60.00"),
            line(4, "99213", "150.00"),
        ]);
        c.lines[3].service_date = d(2026, 3, 5);
        c.service_to = d(2026, 3, 5);
        let result = adjudicate(&c, &ctx);
        assert_eq!(
            result.benefit_limits,
            vec![
                BenefitLimitUse {
                    benefit_category: "office_visit".into(),
                    visit_limit: Some(20),
                    visits_before: 19,
                    visits_this_claim: 1,
                    annual_limit: None,
                    paid_before: m("1000.00"),
                    paid_this_claim: result.lines[0].paid,
                },
                BenefitLimitUse {
                    benefit_category: "surgery".into(),
                    visit_limit: None,
                    visits_before: 0,
                    visits_this_claim: 1,
                    annual_limit: Some(m("1500")),
                    paid_before: m("1450"),
                    paid_this_claim: m("50.00"),
                },
            ]
        );
        assert!(
            adjudicate(&claim(vec![line(1, "80053", "60.00")]), &context())
                .benefit_limits
                .is_empty()
        );
    }

    #[test]
    fn a_denied_line_that_billed_nothing_has_no_zero_adjustment() {
        let result = adjudicate(&claim(vec![line(1, "9999X", "0")]), &context());
        assert!(result.lines[0].adjustments.is_empty());
        balanced(&result);
    }

    #[test]
    fn amounts_read_with_thousands_separators() {
        assert_eq!(amount(m("1234567.5")), "1,234,567.50");
        assert_eq!(amount(m("50")), "50.00");
        assert_eq!(amount(m("999.999")), "1,000.00");
    }
}
