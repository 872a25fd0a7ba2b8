//! Property tests of the adjudication engine.

use std::collections::{BTreeSet, HashMap};

use chrono::Days;
use claimdesk_core::engine::fixtures::{claim, context, d, line, m};
use claimdesk_core::engine::{adjudicate, Accumulators, BenefitUsage};
use proptest::prelude::*;
use rust_decimal::Decimal;

fn cents(max: i64) -> impl Strategy<Value = Decimal> {
    (0..=max).prop_map(|c| Decimal::new(c, 2))
}

/// A claim line: code, billed, days after 2026-03-02, modifier.
type Line = (String, Decimal, u64, Option<String>);

/// A category's visit limit, annual limit and use before the claim.
type Limits = (Option<u32>, Option<Decimal>, BenefitUsage);

fn limits() -> impl Strategy<Value = Limits> {
    (
        prop::option::of(0..6u32),
        prop::option::of(cents(300_000)),
        0..8u32,
        cents(300_000),
    )
        .prop_map(|(visit_limit, annual_limit, visits, paid)| {
            (visit_limit, annual_limit, BenefitUsage { visits, paid })
        })
}

prop_compose! {
    fn scenario()(
        codes in prop::collection::vec(prop::sample::select(vec!["29881", "99213", "80053", "80048", "29880", "9999X"]), 1..8),
        billed in prop::collection::vec(cents(500_000), 8),
        days in prop::collection::vec(0..4u64, 8),
        modifiers in prop::collection::vec(prop::option::of(prop::sample::select(vec!["59", "LT", "RT", "25", "91"])), 8),
        in_network in any::<bool>(),
        ind_ded in cents(150_000), fam_ded_extra in cents(150_000),
        ind_oop in cents(700_000), fam_oop_extra in cents(700_000),
        surgery in limits(), office_visit in limits(), lab in limits(),
    ) -> (Vec<Line>, bool, Accumulators, Vec<(&'static str, Limits)>) {
        let lines = codes
            .iter()
            .zip(billed)
            .zip(days)
            .zip(modifiers)
            .map(|(((c, b), day), modifier)| (c.to_string(), b, day, modifier.map(String::from)))
            .collect();
        (lines, in_network, Accumulators {
            individual_deductible: ind_ded,
            family_deductible: ind_ded + fam_ded_extra,
            individual_oop: ind_oop,
            family_oop: ind_oop + fam_oop_extra,
        }, vec![("surgery", surgery), ("office_visit", office_visit), ("lab", lab)])
    }
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(2_000))]

    #[test]
    fn balances_never_pays_negative_and_respects_out_of_pocket_room_and_benefit_limits(
        (lines, in_network, acc, limits) in scenario()
    ) {
        let mut ctx = context();
        ctx.provider.in_network = in_network;
        ctx.accumulators = acc;
        for (category, (visit_limit, annual_limit, usage)) in &limits {
            let benefit = ctx.plan.benefits.get_mut(*category).expect("fixture category");
            benefit.visit_limit = *visit_limit;
            benefit.annual_limit = *annual_limit;
            ctx.benefit_usage.insert(category.to_string(), *usage);
        }
        let first = d(2026, 3, 2);
        let mut c = claim(lines.iter().enumerate().map(|(i, (cpt, billed, day, modifier))| {
            let mut l = line(i as u16 + 1, cpt, &billed.to_string());
            l.service_date = first + Days::new(*day);
            l.modifiers = modifier.iter().cloned().collect();
            l
        }).collect());
        c.service_to = c.lines.iter().map(|l| l.service_date).max().expect("a line");
        let result = adjudicate(&c, &ctx);

        for l in &result.lines {
            let adjustments: Decimal = l.adjustments.iter().map(|a| a.amount).sum();
            prop_assert_eq!(l.billed, l.paid + adjustments);
            prop_assert!(l.paid >= Decimal::ZERO && l.allowed <= l.billed);
            for amount in [l.allowed, l.deductible, l.copay, l.coinsurance, l.member_responsibility] {
                prop_assert!(amount >= Decimal::ZERO, "negative amount on line {}", l.line_number);
            }
            prop_assert!(l.adjustments.iter().all(|a| a.amount > Decimal::ZERO));
        }
        prop_assert_eq!(result.billed, result.paid + result.adjustments_total());

        let plan = &ctx.plan;
        let room = (plan.oop_max_individual - acc.individual_oop)
            .min(plan.oop_max_family - acc.family_oop)
            .max(Decimal::ZERO);
        let cost_share: Decimal = result.lines.iter().map(|l| l.deductible + l.copay + l.coinsurance).sum();
        prop_assert!(cost_share <= room, "cost share {} over room {}", cost_share, room);
        let deductible_room = (plan.deductible_individual - acc.individual_deductible)
            .min(plan.deductible_family - acc.family_deductible)
            .max(Decimal::ZERO);
        let deductible: Decimal = result.lines.iter().map(|l| l.deductible).sum();
        prop_assert!(deductible <= deductible_room);
        prop_assert!(m("0") <= result.paid);

        // Benefit limits, per category: what the claim paid and the dates it
        // paid on stay within what the plan year had left.
        let mut paid: HashMap<&str, (Decimal, BTreeSet<_>)> = HashMap::new();
        for (input, l) in c.lines.iter().zip(&result.lines) {
            if let Some(category) = ctx.reference.cpt_category.get(&input.cpt) {
                let (sum, dates) = paid.entry(category.as_str()).or_default();
                *sum += l.paid;
                if l.paid > Decimal::ZERO {
                    dates.insert(input.service_date);
                }
            }
        }
        for (category, (visit_limit, annual_limit, usage)) in &limits {
            let billed_here = paid.contains_key(category);
            let (sum, dates) = paid.remove(category).unwrap_or_default();
            if let Some(limit) = annual_limit {
                let left = (*limit - usage.paid).max(Decimal::ZERO);
                prop_assert!(sum <= left, "{} paid {} over {} left", category, sum, left);
            }
            if let Some(limit) = visit_limit {
                let left = limit.saturating_sub(usage.visits) as usize;
                prop_assert!(dates.len() <= left, "{} paid {} visits, {} left", category, dates.len(), left);
            }
            let summary = result.benefit_limits.iter().find(|b| b.benefit_category == *category);
            prop_assert_eq!(summary.is_some(), billed_here && (visit_limit.is_some() || annual_limit.is_some()));
            if let Some(summary) = summary {
                let counted = summary.visits_this_claim as usize;
                prop_assert!(dates.len() <= counted);
                if let Some(limit) = visit_limit {
                    prop_assert!(counted <= limit.saturating_sub(usage.visits) as usize);
                }
                prop_assert_eq!(summary.paid_this_claim, sum);
                prop_assert_eq!(summary.paid_before, usage.paid);
                prop_assert_eq!(summary.visits_before, usage.visits);
            }
        }
    }
}
