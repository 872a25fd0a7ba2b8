//! The adjudication engine: pure functions over plain data, money in
//! `Decimal`, the clock passed in. Given a claim and everything known about
//! its member, plan, provider and history, it prices every line, splits the
//! member's share into deductible, copay and coinsurance, and lists the edits
//! that fired, each with its CARC and words for the screen.
//!
//! Every line balances as on an 835: billed = paid + the sum of adjustments.

use std::collections::{HashMap, HashSet};

use chrono::{Months, NaiveDate};
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

/// The claim as billed.
#[derive(Debug, Clone, PartialEq)]
pub struct ClaimInput {
    /// First date of service.
    pub service_from: NaiveDate,
    /// Last date of service.
    pub service_to: NaiveDate,
    /// When the payer received it.
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

/// A claim already on file for the same member, for duplicate edits.
#[derive(Debug, Clone, PartialEq)]
pub struct PriorClaim {
    /// Its claim number, for the explanation.
    pub claim_number: String,
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
    /// Member responsibility (deductible + copay + coinsurance).
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

/// Modifiers that bypass an NCCI indicator-1 pair (distinct procedural service).
const NCCI_BYPASS: [&str; 5] = ["59", "XE", "XS", "XP", "XU"];

/// Filing limit: claims must arrive within 12 months of service.
const FILING_LIMIT_MONTHS: u32 = 12;

fn money(v: Decimal) -> Decimal {
    v.round_dp_with_strategy(2, rust_decimal::RoundingStrategy::MidpointNearestEven)
}

/// Adjudicates one claim. The rules read only the claim's own dates, so the
/// result is the same whenever it runs.
pub fn adjudicate(claim: &ClaimInput, ctx: &Context) -> Adjudication {
    let mut edits = claim_edits(claim, ctx);
    let denied_lines = line_edits(claim, ctx, &mut edits);
    let claim_denied = edits
        .iter()
        .any(|e| e.line_number.is_none() && e.action == Action::Deny);

    let mut acc = ctx.accumulators;
    let mut lines = Vec::with_capacity(claim.lines.len());
    for line in &claim.lines {
        let denial = if claim_denied {
            edits
                .iter()
                .find(|e| e.line_number.is_none() && e.action == Action::Deny)
        } else {
            denied_lines
                .get(&line.line_number)
                .and_then(|i| edits.get(*i))
        };
        lines.push(match denial {
            Some(edit) => denied_line(line, edit),
            None => price_line(line, ctx, &mut acc),
        });
    }
    // Line denials leave the rest payable; the claim is denied only by a
    // claim-level edit or when no line survives.
    let all_lines_denied = !claim.lines.is_empty()
        && claim
            .lines
            .iter()
            .all(|l| denied_lines.contains_key(&l.line_number));
    let action = if claim_denied || all_lines_denied {
        Action::Deny
    } else if edits.iter().any(|e| e.action == Action::Pend) {
        Action::Pend
    } else {
        Action::Pay
    };
    Adjudication {
        billed: lines.iter().map(|l| l.billed).sum(),
        paid: lines.iter().map(|l| l.paid).sum(),
        member_responsibility: lines.iter().map(|l| l.member_responsibility).sum(),
        lines,
        edits,
        action,
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
    // overlapping dates otherwise = suspect.
    let ours: Vec<(String, String, Decimal)> = claim
        .lines
        .iter()
        .map(|l| (l.cpt.clone(), l.place_of_service.clone(), l.billed))
        .collect();
    for prior in ctx.history.iter().filter(|p| !p.denied_or_void) {
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
    out
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
    // pair allows a modifier (indicator 1) and column 2 carries one.
    for c2 in &claim.lines {
        if denied.contains_key(&c2.line_number) {
            continue;
        }
        for c1 in claim
            .lines
            .iter()
            .filter(|c1| c1.line_number != c2.line_number && c1.service_date == c2.service_date)
        {
            let Some(indicator) = ctx.reference.ncci.get(&(c1.cpt.clone(), c2.cpt.clone())) else {
                continue;
            };
            let bypassed = *indicator == '1'
                && c2
                    .modifiers
                    .iter()
                    .any(|m| NCCI_BYPASS.contains(&m.as_str()));
            if *indicator == '9' || bypassed {
                continue;
            }
            edits.push(edit(
                "ncci_ptp",
                "97",
                Group::CO,
                Some(c2.line_number),
                Action::Deny,
                *indicator == '1',
                format!(
                    "{} is included in {} on line {} the same day (NCCI indicator {indicator}{}).",
                    c2.cpt,
                    c1.cpt,
                    c1.line_number,
                    if *indicator == '1' {
                        "; a modifier such as 59 or XU may apply"
                    } else {
                        "; no modifier allowed"
                    }
                ),
            ));
            denied.insert(c2.line_number, edits.len() - 1);
            break;
        }
    }
    denied
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
        adjustments: vec![Adjustment {
            group: edit.group,
            carc: edit.carc.clone(),
            amount: line.billed,
        }],
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

    /// A claim on 2026-03-02, received 2026-03-10.
    pub fn claim(lines: Vec<LineInput>) -> ClaimInput {
        ClaimInput {
            service_from: d(2026, 3, 2),
            service_to: d(2026, 3, 2),
            received: d(2026, 3, 10),
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
        ctx.history.push(PriorClaim {
            claim_number: "CLM-20260305-000001".into(),
            provider_npi: "1234567893".into(),
            service_from: d(2026, 3, 2),
            service_to: d(2026, 3, 2),
            denied_or_void: false,
            lines: vec![("29881".into(), "11".into(), m("2000.00"))],
        });
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
}
