//! Property tests of the adjudication engine.

use claimdesk_core::engine::fixtures::{claim, context, line, m};
use claimdesk_core::engine::{adjudicate, Accumulators};
use proptest::prelude::*;
use rust_decimal::Decimal;

fn cents(max: i64) -> impl Strategy<Value = Decimal> {
    (0..=max).prop_map(|c| Decimal::new(c, 2))
}

prop_compose! {
    fn scenario()(
        codes in prop::collection::vec(prop::sample::select(vec!["29881", "99213", "80053", "80048", "29880", "9999X"]), 1..8),
        billed in prop::collection::vec(cents(500_000), 8),
        in_network in any::<bool>(),
        ind_ded in cents(150_000), fam_ded_extra in cents(150_000),
        ind_oop in cents(700_000), fam_oop_extra in cents(700_000),
    ) -> (Vec<(String, Decimal)>, bool, Accumulators) {
        let lines = codes.iter().zip(billed).map(|(c, b)| (c.to_string(), b)).collect();
        (lines, in_network, Accumulators {
            individual_deductible: ind_ded,
            family_deductible: ind_ded + fam_ded_extra,
            individual_oop: ind_oop,
            family_oop: ind_oop + fam_oop_extra,
        })
    }
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(2_000))]

    #[test]
    fn balances_never_pays_negative_and_respects_out_of_pocket_room((lines, in_network, acc) in scenario()) {
        let mut ctx = context();
        ctx.provider.in_network = in_network;
        ctx.accumulators = acc;
        let c = claim(lines.iter().enumerate().map(|(i, (cpt, billed))| {
            line(i as u16 + 1, cpt, &billed.to_string())
        }).collect());
        let result = adjudicate(&c, &ctx);

        for l in &result.lines {
            let adjustments: Decimal = l.adjustments.iter().map(|a| a.amount).sum();
            prop_assert_eq!(l.billed, l.paid + adjustments);
            prop_assert!(l.paid >= Decimal::ZERO && l.allowed <= l.billed);
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
    }
}
