//! An adjudicator's decision turned into the per-line figures central
//! records (`claimdesk.claim_decide`), checked first so a person hears what
//! is missing before anything is queued. Central checks the same rules
//! again; these checks are for the person, not for trust.

use rust_decimal::Decimal;
use serde::{Deserialize, Serialize};

use crate::engine::{Action, Adjudication, LineResult};

/// What the person decided.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, specta::Type)]
#[serde(rename_all = "snake_case")]
pub enum DecisionKind {
    /// Pay as the engine priced it.
    Approve,
    /// Pay less than priced on some lines, with a justification.
    Partial,
    /// Pay nothing, with a group code, a reason code and an explanation.
    Deny,
    /// Hold, with a reason.
    Pend,
    /// Hold and ask the provider for information.
    RequestInfo,
}

impl DecisionKind {
    /// The word central's `claim_decide` takes.
    pub fn as_central(self) -> &'static str {
        match self {
            Self::Approve => "approve",
            Self::Partial => "partial",
            Self::Deny => "deny",
            Self::Pend => "pend",
            Self::RequestInfo => "request_info",
        }
    }

    /// Whether the claim stays open (in the queue) afterwards.
    pub fn keeps_claim_open(self) -> bool {
        matches!(self, Self::Pend | Self::RequestInfo)
    }
}

/// A line paid less than priced (partial approvals).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, specta::Type)]
pub struct LineReduction {
    /// The line.
    pub line_number: u16,
    /// What to pay instead.
    #[specta(type = String)]
    pub paid: Decimal,
    /// Group code for the difference.
    pub group_code: String,
    /// Reason code for the difference.
    pub carc: String,
}

/// The decision as the panel submits it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, specta::Type)]
pub struct DecisionInput {
    /// Approve, partial, deny, pend, request info.
    pub kind: DecisionKind,
    /// Justification (partial), explanation (deny), note (pend, request info).
    pub explanation: Option<String>,
    /// Deny: group code.
    pub denial_group_code: Option<String>,
    /// Deny: reason code.
    pub denial_carc: Option<String>,
    /// Pend and request info: the reason code.
    pub pend_reason: Option<String>,
    /// Partial: the lines paid less.
    pub reductions: Vec<LineReduction>,
    /// Remark codes added to every line.
    pub rarc: Vec<String>,
    /// Why the person approves over an edit that holds the claim (suspect
    /// duplicate, provider not credentialed); kept on the claim and audited.
    #[serde(default)]
    pub override_reason: Option<String>,
}

impl DecisionInput {
    /// A decision of `kind` with nothing else filled in yet.
    pub fn of(kind: DecisionKind) -> Self {
        Self {
            kind,
            explanation: None,
            denial_group_code: None,
            denial_carc: None,
            pend_reason: None,
            reductions: Vec::new(),
            rarc: Vec::new(),
            override_reason: None,
        }
    }
}

/// One CAS adjustment on a line as central records it (the 835's group,
/// reason and amount); billed = paid + the line's adjustments.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, specta::Type)]
pub struct CasAdjustment {
    /// Group code: CO, PR, OA, PI.
    pub group: String,
    /// Claim adjustment reason code.
    pub carc: String,
    /// Amount.
    #[specta(type = String)]
    pub amount: Decimal,
}

/// What is left of the member's deductible and out-of-pocket maximum before
/// this claim (the tighter of individual and family).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct CostShareRoom {
    /// Deductible left.
    pub deductible: Decimal,
    /// Out-of-pocket left.
    pub oop: Decimal,
}

/// One line as central records it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, specta::Type)]
pub struct DecisionLine {
    /// Line number.
    pub line_number: u16,
    /// Allowed.
    #[specta(type = String)]
    pub allowed: Decimal,
    /// Deductible.
    #[specta(type = String)]
    pub deductible: Decimal,
    /// Copay.
    #[specta(type = String)]
    pub copay: Decimal,
    /// Coinsurance.
    #[specta(type = String)]
    pub coinsurance: Decimal,
    /// Paid.
    #[specta(type = String)]
    pub paid: Decimal,
    /// The line's main adjustment group, if any.
    pub group_code: Option<String>,
    /// The line's main adjustment reason, if any.
    pub carc: Option<String>,
    /// Remark codes.
    pub rarc: Vec<String>,
    /// The line's CAS adjustments.
    pub adjustments: Vec<CasAdjustment>,
}

/// What is missing or wrong in a decision, in words for the person.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum DecisionProblem {
    /// A denial needs both codes.
    #[error("Choose a group code and a reason code for the denial.")]
    DenialCodesMissing,
    /// The reason is not reported with that group.
    #[error("Reason {carc} is not reported with group {group}; choose a group it goes with.")]
    GroupDoesNotFit {
        /// The group chosen.
        group: String,
        /// The reason chosen.
        carc: String,
    },
    /// Deny and partial need words.
    #[error("Write an explanation: it goes on the remittance and into the audit trail.")]
    ExplanationMissing,
    /// Pend and request info need a reason.
    #[error("Choose why the claim waits.")]
    PendReasonMissing,
    /// A partial approval must reduce something.
    #[error("A partial approval pays less on at least one line; otherwise approve.")]
    NothingReduced,
    /// A reduced line must stay within what was priced.
    #[error("Line {0}: pay between 0 and the priced amount.")]
    ReductionOutOfRange(u16),
    /// A reduction names a line the claim does not have.
    #[error("The claim has no line {0}.")]
    NoSuchLine(u16),
    /// A reduction needs its codes.
    #[error("Line {0}: choose a group code and a reason code for the reduction.")]
    ReductionCodesMissing(u16),
    /// A remark code not in the code list.
    #[error("Remark {0} is not a remark code we know; pick one from the list.")]
    UnknownRemark(String),
    /// A remark that explains none of the decision's reasons.
    #[error("Remark {0} does not explain any reason on this decision; pick a remark that goes with the reason code.")]
    RemarkDoesNotFit(String),
    /// The engine denies the claim outright; it cannot be paid.
    #[error("This claim cannot be approved: {0}")]
    EngineDenies(String),
    /// The engine holds the claim; paying it needs a reason.
    #[error("{0} Write an override reason to approve it anyway.")]
    OverrideReasonMissing(String),
    /// A patient-responsibility reduction passes the member's room.
    #[error("Line {0}: the member's share would pass what is left of their deductible or out-of-pocket maximum.")]
    ShareOverRoom(u16),
}

/// The code lists a decision is checked against.
pub trait CodeRules {
    /// Group codes reason `carc` is reported with; `None` for an unknown reason.
    fn groups_for(&self, carc: &str) -> Option<Vec<String>>;
    /// Reasons remark `rarc` explains; `None` for an unknown remark.
    fn reasons_explained_by(&self, rarc: &str) -> Option<Vec<String>>;
}

fn present(s: &Option<String>) -> Option<&str> {
    s.as_deref().map(str::trim).filter(|s| !s.is_empty())
}

fn main_adjustment(line: &LineResult) -> (Option<String>, Option<String>) {
    // The largest adjustment names the line on the remittance.
    line.adjustments
        .iter()
        .max_by_key(|a| a.amount)
        .map(|a| (Some(format!("{:?}", a.group)), Some(a.carc.clone())))
        .unwrap_or((None, None))
}

/// Checks `input` against the engine's `priced` claim, the code lists and
/// the member's `room` (none when no plan was found), and builds the lines
/// central records.
pub fn build(
    priced: &Adjudication,
    input: &DecisionInput,
    codes: &dyn CodeRules,
    room: Option<CostShareRoom>,
) -> Result<Vec<DecisionLine>, DecisionProblem> {
    if matches!(input.kind, DecisionKind::Approve | DecisionKind::Partial) {
        check_engine(priced, input)?;
    }
    let lines = lines_for(priced, input, codes)?;
    check_remarks(priced, input, &lines, codes)?;
    if let Some(room) = room {
        check_room(&lines, room)?;
    }
    Ok(lines)
}

/// Paying over the engine: never past what it denies outright, and past
/// what it holds only with a reason (central enforces both again).
fn check_engine(priced: &Adjudication, input: &DecisionInput) -> Result<(), DecisionProblem> {
    let claim_level = |action| {
        priced
            .edits
            .iter()
            .filter(move |e| e.line_number.is_none() && e.action == action)
    };
    if let Some(deny) = claim_level(Action::Deny).find(|e| !e.overridable) {
        return Err(DecisionProblem::EngineDenies(deny.explanation.clone()));
    }
    if let Some(hold) = priced.edits.iter().find(|e| e.action == Action::Pend) {
        if present(&input.override_reason).is_none() {
            return Err(DecisionProblem::OverrideReasonMissing(
                hold.explanation.clone(),
            ));
        }
    }
    Ok(())
}

/// The member's share, reductions included, within the room left.
fn check_room(lines: &[DecisionLine], room: CostShareRoom) -> Result<(), DecisionProblem> {
    let (mut deductible, mut oop) = (Decimal::ZERO, Decimal::ZERO);
    for line in lines {
        deductible += line.deductible;
        oop += line.deductible + line.copay + line.coinsurance;
        if deductible > room.deductible || oop > room.oop {
            return Err(DecisionProblem::ShareOverRoom(line.line_number));
        }
    }
    Ok(())
}

/// Adds `amount` to the line's adjustment of that group and reason, or a new one.
pub(crate) fn add_adjustment(
    adjustments: &mut Vec<CasAdjustment>,
    group: &str,
    carc: &str,
    amount: Decimal,
) {
    if amount.is_zero() {
        return;
    }
    match adjustments
        .iter_mut()
        .find(|a| a.group == group && a.carc == carc)
    {
        Some(a) => a.amount += amount,
        None => adjustments.push(CasAdjustment {
            group: group.to_string(),
            carc: carc.to_string(),
            amount,
        }),
    }
}

/// Each remark the person added must be known and explain a reason that is
/// on the decision: one the engine applied or one the person chose. (The
/// engine's own remarks are not checked: they come with its edits.)
fn check_remarks(
    priced: &Adjudication,
    input: &DecisionInput,
    lines: &[DecisionLine],
    codes: &dyn CodeRules,
) -> Result<(), DecisionProblem> {
    let mut reasons: Vec<&str> = lines.iter().filter_map(|l| l.carc.as_deref()).collect();
    if input.kind != DecisionKind::Deny {
        reasons.extend(
            priced
                .lines
                .iter()
                .flat_map(|l| l.adjustments.iter().map(|a| a.carc.as_str())),
        );
    }
    for remark in &input.rarc {
        let explained = codes
            .reasons_explained_by(remark)
            .ok_or_else(|| DecisionProblem::UnknownRemark(remark.clone()))?;
        if !explained.iter().any(|c| reasons.contains(&c.as_str())) {
            return Err(DecisionProblem::RemarkDoesNotFit(remark.clone()));
        }
    }
    Ok(())
}

fn lines_for(
    priced: &Adjudication,
    input: &DecisionInput,
    codes: &dyn CodeRules,
) -> Result<Vec<DecisionLine>, DecisionProblem> {
    let fits = |group: &str, carc: &str| -> Result<(), DecisionProblem> {
        match codes.groups_for(carc) {
            Some(groups) if groups.iter().any(|g| g == group) => Ok(()),
            _ => Err(DecisionProblem::GroupDoesNotFit {
                group: group.to_string(),
                carc: carc.to_string(),
            }),
        }
    };
    let rarc = |line: &LineResult| -> Vec<String> {
        if input.kind == DecisionKind::Deny {
            // The engine's remarks explain a price that no longer applies.
            return input.rarc.clone();
        }
        let mut all = line.rarc.clone();
        for r in &input.rarc {
            if !all.contains(r) {
                all.push(r.clone());
            }
        }
        all
    };
    let as_priced = |line: &LineResult| {
        let (group_code, carc) = main_adjustment(line);
        DecisionLine {
            line_number: line.line_number,
            allowed: line.allowed,
            deductible: line.deductible,
            copay: line.copay,
            coinsurance: line.coinsurance,
            paid: line.paid,
            group_code,
            carc,
            rarc: rarc(line),
            adjustments: line
                .adjustments
                .iter()
                .map(|a| CasAdjustment {
                    group: format!("{:?}", a.group),
                    carc: a.carc.clone(),
                    amount: a.amount,
                })
                .collect(),
        }
    };
    match input.kind {
        DecisionKind::Pend | DecisionKind::RequestInfo => {
            present(&input.pend_reason).ok_or(DecisionProblem::PendReasonMissing)?;
            Ok(Vec::new())
        }
        DecisionKind::Approve => Ok(priced.lines.iter().map(as_priced).collect()),
        DecisionKind::Deny => {
            let (Some(group), Some(carc)) = (
                present(&input.denial_group_code),
                present(&input.denial_carc),
            ) else {
                return Err(DecisionProblem::DenialCodesMissing);
            };
            fits(group, carc)?;
            present(&input.explanation).ok_or(DecisionProblem::ExplanationMissing)?;
            Ok(priced
                .lines
                .iter()
                .map(|line| DecisionLine {
                    line_number: line.line_number,
                    allowed: Decimal::ZERO,
                    deductible: Decimal::ZERO,
                    copay: Decimal::ZERO,
                    coinsurance: Decimal::ZERO,
                    paid: Decimal::ZERO,
                    group_code: Some(group.to_string()),
                    carc: Some(carc.to_string()),
                    rarc: rarc(line),
                    adjustments: {
                        let mut all = Vec::new();
                        add_adjustment(&mut all, group, carc, line.billed);
                        all
                    },
                })
                .collect())
        }
        DecisionKind::Partial => {
            present(&input.explanation).ok_or(DecisionProblem::ExplanationMissing)?;
            let mut lines: Vec<DecisionLine> = priced.lines.iter().map(as_priced).collect();
            let mut reduced = false;
            for r in &input.reductions {
                let line = lines
                    .iter_mut()
                    .find(|l| l.line_number == r.line_number)
                    .ok_or(DecisionProblem::NoSuchLine(r.line_number))?;
                if r.paid < Decimal::ZERO || r.paid > line.paid {
                    return Err(DecisionProblem::ReductionOutOfRange(r.line_number));
                }
                if r.paid == line.paid {
                    continue;
                }
                if r.group_code.trim().is_empty() || r.carc.trim().is_empty() {
                    return Err(DecisionProblem::ReductionCodesMissing(r.line_number));
                }
                fits(&r.group_code, &r.carc)?;
                // The cut goes where its group says: a patient-responsibility
                // cost share (PR 1, 2, 3) is the member's and counts toward
                // their accumulators; other PR reasons (not covered, benefit
                // maximum) are the member's but do not count toward the
                // out-of-pocket maximum (45 CFR 156.130); a contractual or
                // other cut lowers the allowed amount.
                let cut = line.paid - r.paid;
                match (r.group_code.as_str(), r.carc.as_str()) {
                    ("PR", "1") => line.deductible += cut,
                    ("PR", "2") => line.coinsurance += cut,
                    ("PR", "3") => line.copay += cut,
                    ("PR", _) => {}
                    _ => line.allowed -= cut,
                }
                add_adjustment(&mut line.adjustments, &r.group_code, &r.carc, cut);
                line.paid = r.paid;
                line.group_code = Some(r.group_code.clone());
                line.carc = Some(r.carc.clone());
                reduced = true;
            }
            if !reduced {
                return Err(DecisionProblem::NothingReduced);
            }
            Ok(lines)
        }
    }
}

/// Total paid by `lines`.
pub fn total_paid(lines: &[DecisionLine]) -> Decimal {
    lines.iter().map(|l| l.paid).sum()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::engine::{Action, Adjustment, Group};

    fn m(s: &str) -> Decimal {
        s.parse().unwrap()
    }

    fn priced() -> Adjudication {
        let line = |n: u16, billed: &str, paid: &str, pr: &str| LineResult {
            line_number: n,
            billed: m(billed),
            allowed: m(billed) - m("20.00"),
            deductible: Decimal::ZERO,
            copay: m(pr),
            coinsurance: Decimal::ZERO,
            paid: m(paid),
            member_responsibility: m(pr),
            adjustments: vec![
                Adjustment {
                    group: Group::CO,
                    carc: "45".into(),
                    amount: m("20.00"),
                },
                Adjustment {
                    group: Group::PR,
                    carc: "3".into(),
                    amount: m(pr),
                },
            ],
            rarc: vec![],
        };
        Adjudication {
            lines: vec![
                line(1, "150.00", "100.00", "30.00"),
                line(2, "80.00", "40.00", "20.00"),
            ],
            edits: vec![],
            action: Action::Pay,
            billed: m("230.00"),
            paid: m("140.00"),
            member_responsibility: m("50.00"),
            benefit_limits: vec![],
        }
    }

    struct Codes;

    impl CodeRules for Codes {
        fn groups_for(&self, carc: &str) -> Option<Vec<String>> {
            match carc {
                "45" | "97" | "50" => Some(vec!["CO".into()]),
                "1" | "2" | "3" | "204" => Some(vec!["PR".into()]),
                _ => None,
            }
        }
        fn reasons_explained_by(&self, rarc: &str) -> Option<Vec<String>> {
            match rarc {
                "M15" => Some(vec!["97".into()]),
                "N381" => Some(vec!["45".into()]),
                "M127" => Some(vec!["50".into()]),
                _ => None,
            }
        }
    }

    #[test]
    fn approve_carries_the_engine_figures_and_main_adjustment() {
        let lines = build(
            &priced(),
            &DecisionInput::of(DecisionKind::Approve),
            &Codes,
            None,
        )
        .unwrap();
        assert_eq!(lines.len(), 2);
        assert_eq!(lines[0].paid, m("100.00"));
        assert_eq!(lines[0].copay, m("30.00"));
        assert_eq!(
            (lines[0].group_code.as_deref(), lines[0].carc.as_deref()),
            (Some("PR"), Some("3"))
        );
        assert_eq!(total_paid(&lines), m("140.00"));
    }

    #[test]
    fn a_denial_needs_codes_that_fit_and_an_explanation() {
        let mut deny = DecisionInput::of(DecisionKind::Deny);
        assert_eq!(
            build(&priced(), &deny, &Codes, None),
            Err(DecisionProblem::DenialCodesMissing)
        );
        deny.denial_group_code = Some("PR".into());
        deny.denial_carc = Some("50".into());
        assert!(matches!(
            build(&priced(), &deny, &Codes, None),
            Err(DecisionProblem::GroupDoesNotFit { .. })
        ));
        deny.denial_group_code = Some("CO".into());
        deny.explanation = Some("   ".into());
        assert_eq!(
            build(&priced(), &deny, &Codes, None),
            Err(DecisionProblem::ExplanationMissing)
        );
        deny.explanation = Some("Not medically necessary per policy MP-12.".into());
        let lines = build(&priced(), &deny, &Codes, None).unwrap();
        assert!(lines
            .iter()
            .all(|l| l.paid.is_zero() && l.carc.as_deref() == Some("50")));
    }

    #[test]
    fn a_partial_approval_reduces_within_the_priced_amount_with_codes() {
        let mut partial = DecisionInput::of(DecisionKind::Partial);
        partial.explanation = Some("Units exceed the documented time.".into());
        assert_eq!(
            build(&priced(), &partial, &Codes, None),
            Err(DecisionProblem::NothingReduced)
        );
        partial.reductions = vec![LineReduction {
            line_number: 1,
            paid: m("120.00"),
            group_code: "CO".into(),
            carc: "45".into(),
        }];
        assert_eq!(
            build(&priced(), &partial, &Codes, None),
            Err(DecisionProblem::ReductionOutOfRange(1))
        );
        partial.reductions[0].paid = m("60.00");
        let lines = build(&priced(), &partial, &Codes, None).unwrap();
        assert_eq!(total_paid(&lines), m("100.00"));
        partial.reductions[0].line_number = 9;
        assert_eq!(
            build(&priced(), &partial, &Codes, None),
            Err(DecisionProblem::NoSuchLine(9))
        );
        partial.reductions[0].line_number = 1;
        partial.explanation = None;
        assert_eq!(
            build(&priced(), &partial, &Codes, None),
            Err(DecisionProblem::ExplanationMissing)
        );
    }

    #[test]
    fn a_pend_needs_a_reason_and_sends_no_lines() {
        let mut pend = DecisionInput::of(DecisionKind::Pend);
        assert_eq!(
            build(&priced(), &pend, &Codes, None),
            Err(DecisionProblem::PendReasonMissing)
        );
        pend.pend_reason = Some("records".into());
        assert_eq!(build(&priced(), &pend, &Codes, None), Ok(vec![]));
    }

    #[test]
    fn a_remark_must_be_known_and_explain_a_reason_on_the_decision() {
        let mut deny = DecisionInput::of(DecisionKind::Deny);
        deny.denial_group_code = Some("CO".into());
        deny.denial_carc = Some("50".into());
        deny.explanation = Some("No documentation of medical necessity.".into());
        deny.rarc = vec!["X1".into()];
        assert_eq!(
            build(&priced(), &deny, &Codes, None),
            Err(DecisionProblem::UnknownRemark("X1".into()))
        );
        // N381 explains 45, which the engine applied, but a denial replaces
        // the engine's reasons with 50.
        deny.rarc = vec!["N381".into()];
        assert_eq!(
            build(&priced(), &deny, &Codes, None),
            Err(DecisionProblem::RemarkDoesNotFit("N381".into()))
        );
        deny.rarc = vec!["M127".into()];
        let lines = build(&priced(), &deny, &Codes, None).unwrap();
        assert!(lines.iter().all(|l| l.rarc == vec!["M127".to_string()]));

        // Approving keeps the engine's reasons, so N381 (for 45) fits.
        let mut approve = DecisionInput::of(DecisionKind::Approve);
        approve.rarc = vec!["N381".into()];
        let lines = build(&priced(), &approve, &Codes, None).unwrap();
        assert!(lines.iter().all(|l| l.rarc.contains(&"N381".to_string())));
        approve.rarc = vec!["M15".into()];
        assert_eq!(
            build(&priced(), &approve, &Codes, None),
            Err(DecisionProblem::RemarkDoesNotFit("M15".into()))
        );
    }

    fn balances(line: &DecisionLine, billed: &str) {
        let adjustments: Decimal = line.adjustments.iter().map(|a| a.amount).sum();
        assert_eq!(
            line.paid + adjustments,
            m(billed),
            "line {}",
            line.line_number
        );
        let pr = |carc: &str| -> Decimal {
            line.adjustments
                .iter()
                .filter(|a| a.group == "PR" && a.carc == carc)
                .map(|a| a.amount)
                .sum()
        };
        assert_eq!(
            (pr("1"), pr("2"), pr("3")),
            (line.deductible, line.coinsurance, line.copay)
        );
    }

    #[test]
    fn every_built_line_balances_with_its_cas_adjustments() {
        let approve = build(
            &priced(),
            &DecisionInput::of(DecisionKind::Approve),
            &Codes,
            None,
        )
        .unwrap();
        balances(&approve[0], "150.00");
        balances(&approve[1], "80.00");
        let mut deny = DecisionInput::of(DecisionKind::Deny);
        deny.denial_group_code = Some("CO".into());
        deny.denial_carc = Some("50".into());
        deny.explanation = Some("Not medically necessary.".into());
        let denied = build(&priced(), &deny, &Codes, None).unwrap();
        balances(&denied[0], "150.00");
        assert_eq!(denied[0].adjustments.len(), 1);
        assert_eq!(denied[0].adjustments[0].carc, "50");
    }

    #[test]
    fn a_patient_responsibility_reduction_is_the_members_share_and_a_contractual_one_is_not() {
        let mut partial = DecisionInput::of(DecisionKind::Partial);
        partial.explanation = Some("Coinsurance applies to the supply.".into());
        partial.reductions = vec![LineReduction {
            line_number: 1,
            paid: m("70.00"),
            group_code: "PR".into(),
            carc: "2".into(),
        }];
        let lines = build(&priced(), &partial, &Codes, None).unwrap();
        assert_eq!(lines[0].coinsurance, m("30.00"));
        assert_eq!(lines[0].allowed, m("130.00"), "allowed unchanged");
        balances(&lines[0], "150.00");

        partial.reductions[0].group_code = "CO".into();
        partial.reductions[0].carc = "45".into();
        let lines = build(&priced(), &partial, &Codes, None).unwrap();
        assert_eq!(lines[0].coinsurance, Decimal::ZERO);
        assert_eq!(
            lines[0].allowed,
            m("100.00"),
            "the contractual cut lowers allowed"
        );
        let co45: Decimal = lines[0]
            .adjustments
            .iter()
            .filter(|a| a.carc == "45")
            .map(|a| a.amount)
            .sum();
        assert_eq!(co45, m("50.00"), "merged into the existing CO 45");
        balances(&lines[0], "150.00");

        // A PR reason that is not cost sharing is the member's, not accumulated.
        partial.reductions[0].group_code = "PR".into();
        partial.reductions[0].carc = "204".into();
        let lines = build(&priced(), &partial, &Codes, None).unwrap();
        assert_eq!(
            (lines[0].deductible, lines[0].coinsurance, lines[0].copay),
            (Decimal::ZERO, Decimal::ZERO, m("30.00"))
        );
        balances(&lines[0], "150.00");
    }

    #[test]
    fn a_reduction_may_not_pass_the_members_room() {
        let mut partial = DecisionInput::of(DecisionKind::Partial);
        partial.explanation = Some("Deductible not applied by the engine.".into());
        partial.reductions = vec![LineReduction {
            line_number: 1,
            paid: m("40.00"),
            group_code: "PR".into(),
            carc: "1".into(),
        }];
        let room = CostShareRoom {
            deductible: m("50.00"),
            oop: m("500.00"),
        };
        assert_eq!(
            build(&priced(), &partial, &Codes, Some(room)),
            Err(DecisionProblem::ShareOverRoom(1))
        );
        let room = CostShareRoom {
            deductible: m("60.00"),
            oop: m("500.00"),
        };
        let lines = build(&priced(), &partial, &Codes, Some(room)).unwrap();
        assert_eq!(lines[0].deductible, m("60.00"));
    }

    fn with_edit(action: Action, overridable: bool) -> Adjudication {
        let mut p = priced();
        p.edits.push(crate::engine::Edit {
            code: "x".into(),
            carc: "18".into(),
            group: Group::CO,
            line_number: None,
            action,
            overridable,
            explanation: "Exact duplicate of claim CLM-1.".into(),
        });
        p
    }

    #[test]
    fn the_engine_cannot_be_approved_past_silently() {
        let approve = DecisionInput::of(DecisionKind::Approve);
        assert!(matches!(
            build(&with_edit(Action::Deny, false), &approve, &Codes, None),
            Err(DecisionProblem::EngineDenies(_))
        ));
        assert!(matches!(
            build(&with_edit(Action::Pend, true), &approve, &Codes, None),
            Err(DecisionProblem::OverrideReasonMissing(_))
        ));
        let mut over = approve.clone();
        over.override_reason = Some("Corrected claim; the first was billed in error.".into());
        assert!(build(&with_edit(Action::Pend, true), &over, &Codes, None).is_ok());
        // Denying needs no override.
        let mut deny = DecisionInput::of(DecisionKind::Deny);
        deny.denial_group_code = Some("CO".into());
        deny.denial_carc = Some("97".into());
        deny.explanation = Some("Duplicate.".into());
        assert!(build(&with_edit(Action::Deny, false), &deny, &Codes, None).is_ok());
    }
}
