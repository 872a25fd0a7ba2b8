//! Pricing a claim on this desktop: the facts central sent with the record
//! (`claimdesk.claim_pricing_facts`) read into the engine's context, and the
//! engine run over the claim. The same code prices online and offline, so a
//! decision made on a leased claim without a connection carries the same
//! figures central would have shown.

use std::collections::{HashMap, HashSet};

use chrono::{DateTime, NaiveDate, Utc};
use claimdesk_core::decision::CostShareRoom;
use claimdesk_core::engine::{
    self, Accumulators, Adjudication, BenefitUsage, CategoryBenefit, ClaimInput, Context,
    Eligibility, Frequency, LineInput, Plan, PriorClaim, Provider, Reference,
};
use rust_decimal::Decimal;
use serde::{Deserialize, Serialize};
use uuid::Uuid;

use crate::claim_view::{ClaimHeader, ClaimLine, Diagnosis};

/// Share of the billed amount allowed out of network when no contract rate
/// applies. Plans do not carry it yet; 60 % is the usual-and-customary
/// fraction the engine's own tests assume.
const OUT_OF_NETWORK_ALLOWED_PERCENT: Decimal = Decimal::from_parts(60, 0, 0, false, 0);

/// Eligibility on the date of service, as central decided it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, specta::Type)]
pub struct EligibilityFact {
    /// Covered on the date of service.
    pub is_eligible: bool,
    /// eligible, coverage_terminated, coverage_gap, …
    pub reason: String,
    /// The reason in words.
    pub explanation: String,
}

/// The plan's cost sharing.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, specta::Type)]
pub struct PlanFact {
    /// Plan code.
    pub plan_code: String,
    /// Plan name.
    pub name: String,
    /// HMO, PPO, …
    pub plan_type: String,
    /// Individual deductible.
    #[specta(type = String)]
    pub deductible_individual: Decimal,
    /// Family deductible.
    #[specta(type = String)]
    pub deductible_family: Decimal,
    /// Individual out-of-pocket maximum.
    #[specta(type = String)]
    pub oop_max_individual: Decimal,
    /// Family out-of-pocket maximum.
    #[specta(type = String)]
    pub oop_max_family: Decimal,
    /// Member coinsurance in network, percent.
    #[specta(type = String)]
    pub coinsurance_in_network: Decimal,
    /// Member coinsurance out of network, percent.
    #[specta(type = String)]
    pub coinsurance_out_of_network: Decimal,
    /// Whether out-of-network care is covered at all.
    pub out_of_network_covered: bool,
    /// The plan year of the date of service.
    pub plan_year: i32,
}

/// One benefit category of the plan.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, specta::Type)]
pub struct BenefitFact {
    /// office_visit, lab, surgery, …
    pub benefit_category: String,
    /// Copay in network.
    #[specta(type = String)]
    pub copay_in_network: Decimal,
    /// Copay out of network.
    #[specta(type = String)]
    pub copay_out_of_network: Decimal,
    /// Deductible applies first.
    pub deductible_applies: bool,
    /// Covered in network.
    pub covered_in_network: bool,
    /// Covered out of network.
    pub covered_out_of_network: bool,
    /// Visits the plan pays per plan year, if limited.
    #[serde(default)]
    pub visit_limit: Option<u32>,
    /// Most the plan pays per plan year in this category, if limited.
    #[serde(default)]
    #[specta(type = Option<String>)]
    pub annual_limit: Option<Decimal>,
}

/// What the member used of one benefit category this plan year, before this claim.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize, specta::Type)]
pub struct UsageFact {
    /// Visits paid.
    pub visits: u32,
    /// Amount the plan paid.
    #[specta(type = String)]
    pub paid: Decimal,
}

/// Spent so far this plan year.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, specta::Type)]
pub struct AccumulatorFact {
    /// The member's deductible met.
    #[specta(type = String)]
    pub individual_deductible: Decimal,
    /// The member's out-of-pocket met.
    #[specta(type = String)]
    pub individual_oop: Decimal,
    /// The family's deductible met.
    #[specta(type = String)]
    pub family_deductible: Decimal,
    /// The family's out-of-pocket met.
    #[specta(type = String)]
    pub family_oop: Decimal,
}

/// The billing provider's standing.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, specta::Type)]
pub struct ProviderFact {
    /// NPI.
    pub npi: String,
    /// Organisation, or "Last, First".
    pub name: String,
    /// in_network, out_of_network, pending.
    pub network_status: String,
    /// active, inactive, suspended.
    pub status: String,
    /// On an exclusion list.
    pub excluded: bool,
    /// oig_leie, sam, state_medicaid.
    pub exclusion_source: Option<String>,
    /// Since when.
    pub exclusion_date: Option<NaiveDate>,
    /// Recredentialing due.
    pub recredential_due: Option<NaiveDate>,
    /// A verified medical licence in force on the date of service.
    pub credentialed: bool,
}

#[derive(Clone, PartialEq, Deserialize)]
struct FeeFact {
    cpt_code: String,
    modifier: String,
    allowed_amount: Decimal,
}

/// A code and its words.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, specta::Type)]
pub struct CodeFact {
    /// The code.
    pub code: String,
    /// Its short description.
    pub description: String,
    /// CPT only: its benefit category.
    #[serde(default)]
    pub benefit_category: Option<String>,
}

#[derive(Clone, PartialEq, Deserialize)]
struct NcciFact {
    column1: String,
    column2: String,
    indicator: String,
}

/// Another claim of the same member.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, specta::Type)]
pub struct RelatedClaim {
    /// Its id.
    pub id: Uuid,
    /// Its number.
    pub claim_number: String,
    /// Its status.
    pub status: String,
    /// Its billing provider's NPI.
    pub provider_npi: String,
    /// First date of service.
    pub service_from: NaiveDate,
    /// Last date of service.
    pub service_to: NaiveDate,
    /// When the payer received it (duplicates follow receipt order).
    #[serde(default)]
    pub received_at: Option<DateTime<Utc>>,
    /// 1 original, 7 replacement, 8 void.
    #[serde(default)]
    pub frequency_code: Option<String>,
    /// Total billed.
    #[specta(type = String)]
    pub total_billed: Decimal,
    /// Its lines: code, place of service, billed.
    pub lines: Vec<RelatedLine>,
}

/// A line of a related claim.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, specta::Type)]
pub struct RelatedLine {
    /// CPT/HCPCS.
    pub cpt_code: String,
    /// Place of service.
    pub place_of_service: String,
    /// Billed.
    #[specta(type = String)]
    pub billed: Decimal,
}

/// Everything central sent for pricing.
#[derive(Clone, PartialEq, Deserialize)]
pub struct PricingFacts {
    eligibility: Option<EligibilityFact>,
    plan: Option<PlanFact>,
    benefits: Vec<BenefitFact>,
    accumulators: Option<AccumulatorFact>,
    provider: Option<ProviderFact>,
    in_network: bool,
    fee_schedule: Vec<FeeFact>,
    cpt: Vec<CodeFact>,
    icd10: Vec<CodeFact>,
    ncci: Vec<NcciFact>,
    history: Vec<RelatedClaim>,
    #[serde(default)]
    benefit_usage: HashMap<String, UsageFact>,
    authority_limit: Decimal,
}

/// What the workspace shows about pricing, and the engine's answer.
#[derive(Debug, Clone, PartialEq, Serialize, specta::Type)]
pub struct Pricing {
    /// Eligibility on the date of service.
    pub eligibility: Option<EligibilityFact>,
    /// The plan.
    pub plan: Option<PlanFact>,
    /// Its benefits.
    pub benefits: Vec<BenefitFact>,
    /// Accumulators this plan year, before this claim.
    pub accumulators: Option<AccumulatorFact>,
    /// The provider.
    pub provider: Option<ProviderFact>,
    /// The provider has an active contract on the date of service.
    pub in_network: bool,
    /// Descriptions of the claim's procedure codes.
    pub cpt: Vec<CodeFact>,
    /// Descriptions of the claim's diagnosis codes (unknown codes missing).
    pub icd10: Vec<CodeFact>,
    /// The member's other claims, newest first.
    pub related: Vec<RelatedClaim>,
    /// Most this person may approve without a supervisor.
    #[specta(type = String)]
    pub authority_limit: Decimal,
    /// The member's use this plan year of the claim's benefit categories.
    pub benefit_usage: HashMap<String, UsageFact>,
    /// The engine's figures and edits.
    pub adjudication: Adjudication,
}

impl Pricing {
    /// What is left of the deductible and out-of-pocket maximum before this
    /// claim, the tighter of individual and family; none without a plan.
    pub fn room(&self) -> Option<CostShareRoom> {
        let plan = self.plan.as_ref()?;
        let acc = self.accumulators.as_ref()?;
        Some(CostShareRoom {
            deductible: (plan.deductible_individual - acc.individual_deductible)
                .min(plan.deductible_family - acc.family_deductible)
                .max(Decimal::ZERO),
            oop: (plan.oop_max_individual - acc.individual_oop)
                .min(plan.oop_max_family - acc.family_oop)
                .max(Decimal::ZERO),
        })
    }

    /// What the figures were priced against, for central to compare with
    /// its own totals when the decision arrives.
    pub fn priced_against(&self) -> serde_json::Value {
        let zero = Decimal::ZERO;
        let acc = self.accumulators.as_ref();
        let text = |v: Option<Decimal>| v.unwrap_or(zero).to_string();
        serde_json::json!({
            "accumulators": {
                "individual_deductible": text(acc.map(|a| a.individual_deductible)),
                "individual_oop": text(acc.map(|a| a.individual_oop)),
                "family_deductible": text(acc.map(|a| a.family_deductible)),
                "family_oop": text(acc.map(|a| a.family_oop)),
            },
            "benefit_usage": self.benefit_usage.iter().map(|(category, u)| {
                (category.clone(), serde_json::json!({"visits": u.visits, "paid": u.paid.to_string()}))
            }).collect::<serde_json::Map<_, _>>(),
        })
    }
}

fn eligibility(fact: Option<&EligibilityFact>) -> Eligibility {
    match fact.map(|e| e.reason.as_str()) {
        Some("eligible") => Eligibility::Eligible,
        Some("coverage_not_yet_effective") => Eligibility::NotYetEffective,
        Some("coverage_terminated") => Eligibility::Terminated,
        Some("coverage_gap") => Eligibility::Gap,
        _ => Eligibility::NotCovered,
    }
}

impl PricingFacts {
    /// The engine's context. Missing facts (no plan found, say) price as
    /// zero cost sharing; the eligibility edit denies such claims anyway.
    fn context(&self) -> Context {
        let plan = self.plan.as_ref();
        let zero = Decimal::ZERO;
        Context {
            eligibility: eligibility(self.eligibility.as_ref()),
            plan: Plan {
                deductible_individual: plan.map_or(zero, |p| p.deductible_individual),
                deductible_family: plan.map_or(zero, |p| p.deductible_family),
                oop_max_individual: plan.map_or(zero, |p| p.oop_max_individual),
                oop_max_family: plan.map_or(zero, |p| p.oop_max_family),
                coinsurance_in_network: plan.map_or(zero, |p| p.coinsurance_in_network),
                coinsurance_out_of_network: plan.map_or(zero, |p| p.coinsurance_out_of_network),
                benefits: self
                    .benefits
                    .iter()
                    .map(|b| {
                        (
                            b.benefit_category.clone(),
                            CategoryBenefit {
                                copay_in_network: b.copay_in_network,
                                copay_out_of_network: b.copay_out_of_network,
                                deductible_applies: b.deductible_applies,
                                covered_in_network: b.covered_in_network,
                                covered_out_of_network: b.covered_out_of_network
                                    && plan.is_some_and(|p| p.out_of_network_covered),
                                visit_limit: b.visit_limit,
                                annual_limit: b.annual_limit,
                            },
                        )
                    })
                    .collect(),
            },
            accumulators: self
                .accumulators
                .as_ref()
                .map(|a| Accumulators {
                    individual_deductible: a.individual_deductible,
                    individual_oop: a.individual_oop,
                    family_deductible: a.family_deductible,
                    family_oop: a.family_oop,
                })
                .unwrap_or_default(),
            fee_schedule: self
                .fee_schedule
                .iter()
                .map(|f| ((f.cpt_code.clone(), f.modifier.clone()), f.allowed_amount))
                .collect(),
            out_of_network_allowed_percent: OUT_OF_NETWORK_ALLOWED_PERCENT,
            provider: Provider {
                npi: self
                    .provider
                    .as_ref()
                    .map_or_else(String::new, |p| p.npi.clone()),
                in_network: self.in_network,
                // Excluded with no date on record counts as excluded
                // throughout, as central counts it.
                excluded_since: self
                    .provider
                    .as_ref()
                    .filter(|p| p.excluded)
                    .map(|p| p.exclusion_date.unwrap_or(NaiveDate::MIN)),
                credentialed: self.provider.as_ref().is_some_and(|p| p.credentialed),
            },
            history: self
                .history
                .iter()
                .map(|h| PriorClaim {
                    id: h.id,
                    received_at: h.received_at.unwrap_or(DateTime::<Utc>::MIN_UTC),
                    frequency: h
                        .frequency_code
                        .as_deref()
                        .and_then(Frequency::from_code)
                        .unwrap_or(Frequency::Original),
                    claim_number: h.claim_number.clone(),
                    provider_npi: h.provider_npi.clone(),
                    service_from: h.service_from,
                    service_to: h.service_to,
                    denied_or_void: matches!(h.status.as_str(), "denied" | "void"),
                    lines: h
                        .lines
                        .iter()
                        .map(|l| (l.cpt_code.clone(), l.place_of_service.clone(), l.billed))
                        .collect(),
                })
                .collect(),
            benefit_usage: self
                .benefit_usage
                .iter()
                .map(|(category, u)| {
                    (
                        category.clone(),
                        BenefitUsage {
                            visits: u.visits,
                            paid: u.paid,
                        },
                    )
                })
                .collect(),
            reference: Reference {
                cpt_category: self
                    .cpt
                    .iter()
                    .filter_map(|c| Some((c.code.clone(), c.benefit_category.clone()?)))
                    .collect(),
                icd10: self
                    .icd10
                    .iter()
                    .map(|c| c.code.clone())
                    .collect::<HashSet<_>>(),
                ncci: self
                    .ncci
                    .iter()
                    .filter_map(|n| {
                        Some((
                            (n.column1.clone(), n.column2.clone()),
                            n.indicator.chars().next()?,
                        ))
                    })
                    .collect::<HashMap<_, _>>(),
            },
        }
    }
}

/// Prices the claim from its facts.
pub fn price(
    claim: &ClaimHeader,
    lines: &[ClaimLine],
    diagnoses: &[Diagnosis],
    facts: &PricingFacts,
) -> Pricing {
    let input = ClaimInput {
        id: claim.id,
        claim_number: claim.claim_number.clone(),
        received_at: claim.received_at,
        frequency: Frequency::from_code(&claim.frequency_code).unwrap_or(Frequency::Original),
        replaces: claim.replaces_claim_id,
        service_from: claim.service_from,
        service_to: claim.service_to,
        received: claim.received_at.date_naive(),
        member_id: claim.member_id,
        diagnoses: diagnoses.iter().map(|d| d.icd10_code.clone()).collect(),
        lines: lines
            .iter()
            .map(|l| LineInput {
                line_number: u16::try_from(l.line_number).unwrap_or(0),
                service_date: l.service_date,
                cpt: l.cpt_code.clone(),
                modifiers: l.modifiers.clone(),
                place_of_service: l
                    .place_of_service
                    .clone()
                    .or_else(|| claim.place_of_service.clone())
                    .unwrap_or_default(),
                units: l.units,
                billed: l.billed,
            })
            .collect(),
    };
    let adjudication = engine::adjudicate(&input, &facts.context());
    Pricing {
        eligibility: facts.eligibility.clone(),
        plan: facts.plan.clone(),
        benefits: facts.benefits.clone(),
        accumulators: facts.accumulators.clone(),
        provider: facts.provider.clone(),
        in_network: facts.in_network,
        cpt: facts.cpt.clone(),
        icd10: facts.icd10.clone(),
        related: facts.history.clone(),
        authority_limit: facts.authority_limit,
        benefit_usage: facts.benefit_usage.clone(),
        adjudication,
    }
}
