//! A property test of central's own figures (issue 19): random claims and
//! accumulator states, priced by the engine as a desktop would, sometimes
//! tampered with, decided through `claim_decide` on a real PostgreSQL.
//! Whatever central accepts balances line by line, has no negative amount,
//! keeps every accumulator within the plan's maxima, and moves the
//! accumulators by exactly what it booked; what breaks a rule is refused.

mod common;

use std::collections::{HashMap, HashSet};
use std::sync::atomic::{AtomicI64, Ordering};

use chrono::{Duration, NaiveDate, TimeZone, Utc};
use claimdesk_core::decision::{self, CodeRules, CostShareRoom, DecisionInput, DecisionKind};
use claimdesk_core::engine::{
    self, Accumulators, BenefitUsage, CategoryBenefit, ClaimInput, Context, Eligibility, Frequency,
    LineInput, Plan, Provider, Reference,
};
use claimdesk_core::ErrorCode;
use common::{credentialed_fixture, error_code, Fixture, TestDb};
use proptest::prelude::*;
use proptest::test_runner::{Config, TestRunner};
use rust_decimal::Decimal;
use serde_json::json;
use sqlx::PgPool;
use uuid::Uuid;

const CODES: [(&str, &str); 3] = [
    ("99213", "office_visit"),
    ("99214", "office_visit"),
    ("80053", "lab"),
];

/// The code lists as central has them (0005), for the decision builder.
struct Codes(HashMap<String, Vec<String>>);

impl CodeRules for Codes {
    fn groups_for(&self, carc: &str) -> Option<Vec<String>> {
        self.0.get(carc).cloned()
    }
    fn reasons_explained_by(&self, _rarc: &str) -> Option<Vec<String>> {
        None
    }
}

#[derive(Debug, Clone)]
struct Scenario {
    lines: Vec<(usize, i64)>,
    subscriber: (i64, i64),
    child: (i64, i64),
    visits_used: u32,
    lab_paid: i64,
    tamper: Option<u8>,
}

fn scenario() -> impl Strategy<Value = Scenario> {
    (
        prop::collection::vec((0..CODES.len(), 1i64..=400_000), 1..5),
        (0i64..=50_000, 0i64..=300_000),
        (0i64..=50_000, 0i64..=300_000),
        0u32..=12,
        0i64..=200_000,
        prop::option::weighted(0.3, 0u8..3),
    )
        .prop_map(
            |(lines, (sd, so), (cd, co), visits_used, lab_paid, tamper)| Scenario {
                lines,
                // Deductible met within the member's 500.00 and the family's
                // 1,000.00; out of pocket at least the deductible, within 3,000.00.
                subscriber: (sd, (sd + so).min(300_000)),
                child: (cd, (cd + co).min(300_000)),
                visits_used,
                lab_paid,
                tamper,
            },
        )
}

fn cents(c: i64) -> Decimal {
    Decimal::new(c, 2)
}

async fn setup() -> (TestDb, Fixture, PgPool, String, Codes) {
    let mut db = TestDb::new().await;
    let f = credentialed_fixture(&db.owner).await;
    sqlx::raw_sql(
        "INSERT INTO claimdesk.benefit_category VALUES ('lab', 'Laboratory') ON CONFLICT DO NOTHING;
         INSERT INTO claimdesk.cpt_code VALUES ('80053', 'Comprehensive metabolic panel', 'lab', false, false)
             ON CONFLICT DO NOTHING;",
    )
    .execute(&db.owner)
    .await
    .unwrap();
    sqlx::query(
        "INSERT INTO claimdesk.plan_benefit (id, plan_id, benefit_category, copay_in_network, copay_out_of_network,
             deductible_applies, visit_limit, annual_limit)
         VALUES (gen_random_uuid(), $1, 'office_visit', 25, 50, false, 12, NULL),
                (gen_random_uuid(), $1, 'lab', 0, 0, true, NULL, 2000)",
    )
    .bind(f.plan)
    .execute(&db.owner)
    .await
    .unwrap();
    let adj = db.login("adjudicator").await;
    let login = format!("{}_adjudicator", db.name);
    let rows: Vec<(String, Vec<String>)> =
        sqlx::query_as("SELECT code, group_codes FROM claimdesk.carc")
            .fetch_all(&db.owner)
            .await
            .unwrap();
    (db, f, adj, login, Codes(rows.into_iter().collect()))
}

/// The engine's context for this scenario: the fixture's plan (500/1,000
/// deductible, 3,000/6,000 out of pocket, 20/40 % coinsurance), no contract
/// (out of network: 60 % of billed allowed), the accumulators and usage set.
fn context(s: &Scenario) -> Context {
    let benefit = |copay_in: i64, copay_out: i64, deductible_applies, visit_limit, annual_limit| {
        CategoryBenefit {
            copay_in_network: Decimal::new(copay_in, 0),
            copay_out_of_network: Decimal::new(copay_out, 0),
            deductible_applies,
            covered_in_network: true,
            covered_out_of_network: true,
            visit_limit,
            annual_limit,
        }
    };
    let mut benefits = HashMap::new();
    benefits.insert(
        "office_visit".to_string(),
        benefit(25, 50, false, Some(12), None),
    );
    benefits.insert(
        "lab".to_string(),
        benefit(0, 0, true, None, Some(Decimal::new(2000, 0))),
    );
    let mut usage = HashMap::new();
    usage.insert(
        "office_visit".to_string(),
        BenefitUsage {
            visits: s.visits_used,
            paid: Decimal::ZERO,
        },
    );
    usage.insert(
        "lab".to_string(),
        BenefitUsage {
            visits: 0,
            paid: cents(s.lab_paid),
        },
    );
    Context {
        eligibility: Eligibility::Eligible,
        plan: Plan {
            deductible_individual: Decimal::new(500, 0),
            deductible_family: Decimal::new(1000, 0),
            oop_max_individual: Decimal::new(3000, 0),
            oop_max_family: Decimal::new(6000, 0),
            coinsurance_in_network: Decimal::new(20, 0),
            coinsurance_out_of_network: Decimal::new(40, 0),
            benefits,
        },
        accumulators: Accumulators {
            individual_deductible: cents(s.subscriber.0),
            individual_oop: cents(s.subscriber.1),
            family_deductible: cents(s.subscriber.0 + s.child.0),
            family_oop: cents(s.subscriber.1 + s.child.1),
        },
        fee_schedule: HashMap::new(),
        out_of_network_allowed_percent: Decimal::new(60, 0),
        provider: Provider {
            npi: "1234567893".into(),
            in_network: false,
            excluded_since: None,
            credentialed: true,
        },
        history: vec![],
        benefit_usage: usage,
        reference: Reference {
            cpt_category: CODES
                .iter()
                .map(|(c, k)| (c.to_string(), k.to_string()))
                .collect(),
            icd10: HashSet::from(["J06.9".to_string()]),
            ncci: HashMap::new(),
        },
    }
}

static DAY: AtomicI64 = AtomicI64::new(0);

async fn case(db: &TestDb, f: &Fixture, adj: &PgPool, login: &str, codes: &Codes, s: Scenario) {
    let owner = &db.owner;
    // A date of its own in plan year 2025, so no claim duplicates another.
    let service = NaiveDate::from_ymd_opt(2025, 1, 2).unwrap()
        + Duration::days(DAY.fetch_add(1, Ordering::SeqCst) % 300);
    let received =
        Utc.from_utc_datetime(&(service + Duration::days(3)).and_hms_opt(9, 0, 0).unwrap());
    let claim = Uuid::new_v4();
    let billed_total: Decimal = s.lines.iter().map(|l| cents(l.1)).sum();
    sqlx::query(
        "INSERT INTO claimdesk.claim (id, claim_number, claim_type, member_id, policy_id, provider_id,
             service_from, service_to, received_at, prompt_pay_due, total_billed)
         VALUES ($1, claimdesk.next_claim_number($4::date), 'professional', $2, $3, $5, $6, $6, $4, $6 + 40, $7)",
    )
    .bind(claim)
    .bind(f.subscriber)
    .bind(f.policy)
    .bind(received)
    .bind(f.provider)
    .bind(service)
    .bind(billed_total)
    .execute(owner)
    .await
    .unwrap();
    sqlx::query("INSERT INTO claimdesk.claim_diagnosis (id, claim_id, sequence, icd10_code) VALUES (gen_random_uuid(), $1, 1, 'J06.9')")
        .bind(claim)
        .execute(owner)
        .await
        .unwrap();
    let mut inputs = Vec::new();
    for (i, (code, billed)) in s.lines.iter().enumerate() {
        let n = i as u16 + 1;
        sqlx::query(
            "INSERT INTO claimdesk.claim_line (id, claim_id, line_number, service_date, cpt_code, diagnosis_pointers, billed, place_of_service)
             VALUES (gen_random_uuid(), $1, $2, $3, $4, '{1}', $5, '11')",
        )
        .bind(claim)
        .bind(n as i16)
        .bind(service)
        .bind(CODES[*code].0)
        .bind(cents(*billed))
        .execute(owner)
        .await
        .unwrap();
        inputs.push(LineInput {
            line_number: n,
            service_date: service,
            cpt: CODES[*code].0.into(),
            modifiers: vec![],
            place_of_service: "11".into(),
            units: Decimal::ONE,
            billed: cents(*billed),
        });
    }
    // The family's state before this claim, on central and for the engine.
    for (member, (ded, oop)) in [(f.subscriber, s.subscriber), (f.child, s.child)] {
        sqlx::query(
            "INSERT INTO claimdesk.accumulator (id, member_id, policy_id, plan_year, deductible_met, oop_met)
             VALUES (gen_random_uuid(), $1, $2, 2025, $3, $4)
             ON CONFLICT (member_id, policy_id, plan_year) DO UPDATE SET deductible_met = $3, oop_met = $4",
        )
        .bind(member)
        .bind(f.policy)
        .bind(cents(ded))
        .bind(cents(oop))
        .execute(owner)
        .await
        .unwrap();
    }
    sqlx::raw_sql("DELETE FROM claimdesk.benefit_usage")
        .execute(owner)
        .await
        .unwrap();
    sqlx::query(
        "INSERT INTO claimdesk.benefit_usage (member_id, policy_id, plan_year, benefit_category, visits, paid)
         VALUES ($1, $2, 2025, 'office_visit', $3, 0), ($1, $2, 2025, 'lab', 0, $4)",
    )
    .bind(f.subscriber)
    .bind(f.policy)
    .bind(s.visits_used as i32)
    .bind(cents(s.lab_paid))
    .execute(owner)
    .await
    .unwrap();

    let ctx = context(&s);
    let input = ClaimInput {
        id: claim,
        claim_number: String::new(),
        received_at: received,
        frequency: Frequency::Original,
        replaces: None,
        service_from: service,
        service_to: service,
        received: received.date_naive(),
        member_id: f.subscriber,
        diagnoses: vec!["J06.9".into()],
        lines: inputs,
    };
    let priced = engine::adjudicate(&input, &ctx);
    let a = ctx.accumulators;
    let room = CostShareRoom {
        deductible: (Decimal::new(500, 0) - a.individual_deductible)
            .min(Decimal::new(1000, 0) - a.family_deductible),
        oop: (Decimal::new(3000, 0) - a.individual_oop).min(Decimal::new(6000, 0) - a.family_oop),
    };
    // All lines denied (visit limit, say): deny; else approve as priced.
    let kind = if priced.action == engine::Action::Deny {
        DecisionKind::Deny
    } else {
        DecisionKind::Approve
    };
    let mut decision = DecisionInput::of(kind);
    if kind == DecisionKind::Deny {
        decision.denial_group_code = Some("PR".into());
        decision.denial_carc = Some("119".into());
        decision.explanation = Some("benefit maximum reached".into());
    }
    let built =
        decision::build(&priced, &decision, codes, Some(room)).expect("the engine's figures build");
    let mut lines = serde_json::to_value(&built).unwrap();
    let tampered = s.tamper.is_some() && kind == DecisionKind::Approve && !built[0].paid.is_zero();
    if tampered {
        let l = &mut lines[0];
        let paid: Decimal = l["paid"].as_str().unwrap().parse().unwrap();
        match s.tamper.unwrap() {
            // A cent moved from paid to the deductible column, its PR 1 not.
            0 => {
                let d: Decimal = l["deductible"].as_str().unwrap().parse().unwrap();
                l["paid"] = json!((paid - Decimal::new(1, 2)).to_string());
                l["deductible"] = json!((d + Decimal::new(1, 2)).to_string());
            }
            // A cent more paid: the line no longer balances.
            1 => {
                l["paid"] = json!((paid + Decimal::new(1, 2)).to_string());
            }
            // The whole payment moved into a deductible past the room left.
            _ => {
                let d: Decimal = l["deductible"].as_str().unwrap().parse().unwrap();
                let extra = paid.max(room.deductible + Decimal::new(1, 2)).min(paid);
                let adjustments = l["adjustments"].as_array_mut().unwrap();
                adjustments.push(json!({"group": "PR", "carc": "1", "amount": extra.to_string()}));
                l["paid"] = json!((paid - extra).to_string());
                l["deductible"] = json!((d + extra).to_string());
            }
        }
    }
    sqlx::query(
        "UPDATE claimdesk.queue_entry SET lease_holder = $2, lease_expires_at = now() + interval '15 minutes', leased_at = now()
         WHERE claim_id = $1",
    )
    .bind(claim)
    .bind(login)
    .execute(owner)
    .await
    .unwrap();
    let priced_against = json!({
        "accumulators": {"individual_deductible": a.individual_deductible.to_string(),
                         "individual_oop": a.individual_oop.to_string(),
                         "family_deductible": a.family_deductible.to_string(),
                         "family_oop": a.family_oop.to_string()},
        "benefit_usage": {"office_visit": {"visits": s.visits_used, "paid": "0"},
                          "lab": {"visits": 0, "paid": cents(s.lab_paid).to_string()}}});
    let result = sqlx::query_scalar::<_, i32>(
        "SELECT claimdesk.claim_decide($1, 1, $2, $3, $4, $5, $6, NULL, NULL, $7)",
    )
    .bind(claim)
    .bind(kind.as_central())
    .bind(&lines)
    .bind(&decision.denial_group_code)
    .bind(&decision.denial_carc)
    .bind(&decision.explanation)
    .bind(&priced_against)
    .fetch_one(adj)
    .await;

    let booked: (Decimal, Decimal) = sqlx::query_as(
        "SELECT coalesce(sum(deductible), 0), coalesce(sum(oop), 0) FROM claimdesk.claim_booking WHERE claim_id = $1",
    )
    .bind(claim)
    .fetch_one(owner)
    .await
    .unwrap();
    match (tampered, result) {
        (false, Ok(_)) => {}
        (false, Err(e)) => panic!("central refused the engine's own figures: {e}"),
        (true, Err(e)) => {
            assert_eq!(error_code(e), ErrorCode::FiguresRejected);
            assert_eq!(
                booked,
                (Decimal::ZERO, Decimal::ZERO),
                "a refusal books nothing"
            );
            return;
        }
        (true, Ok(_)) => {
            // Variant 2 can fit when the room covered the whole payment:
            // still a valid decision, so the checks below must hold.
        }
    }

    // Central's own figures.
    let stored: Vec<(Decimal, Decimal, Decimal, Decimal, Decimal, Decimal, serde_json::Value)> = sqlx::query_as(
        "SELECT billed, allowed, deductible, copay, coinsurance, paid, adjustments FROM claimdesk.claim_line WHERE claim_id = $1",
    )
    .bind(claim)
    .fetch_all(owner)
    .await
    .unwrap();
    for (billed, allowed, ded, copay, coins, paid, adjustments) in stored {
        let amounts: Vec<Decimal> = adjustments
            .as_array()
            .unwrap()
            .iter()
            .map(|a| a["amount"].as_str().unwrap().parse().unwrap())
            .collect();
        assert_eq!(
            paid + amounts.iter().copied().sum::<Decimal>(),
            billed,
            "line balances"
        );
        for v in [allowed, ded, copay, coins, paid]
            .into_iter()
            .chain(amounts)
        {
            assert!(v >= Decimal::ZERO, "no negative amount");
        }
    }
    let rows: Vec<(Uuid, Decimal, Decimal)> = sqlx::query_as(
        "SELECT member_id, deductible_met, oop_met FROM claimdesk.accumulator WHERE policy_id = $1 AND plan_year = 2025",
    )
    .bind(f.policy)
    .fetch_all(owner)
    .await
    .unwrap();
    let (mut fam_ded, mut fam_oop) = (Decimal::ZERO, Decimal::ZERO);
    for (member, ded, oop) in &rows {
        assert!(
            *ded <= Decimal::new(500, 0) && *oop <= Decimal::new(3000, 0),
            "individual maxima"
        );
        fam_ded += ded;
        fam_oop += oop;
        if *member == f.subscriber {
            assert_eq!(
                (*ded, *oop),
                (
                    cents(s.subscriber.0) + booked.0,
                    cents(s.subscriber.1) + booked.1
                ),
                "moved by what was booked"
            );
        }
    }
    assert!(
        fam_ded <= Decimal::new(1000, 0) && fam_oop <= Decimal::new(6000, 0),
        "family maxima"
    );
    let (visits, lab): (i32, Decimal) = sqlx::query_as(
        "SELECT coalesce(sum(visits) FILTER (WHERE benefit_category = 'office_visit'), 0)::int,
                coalesce(sum(paid) FILTER (WHERE benefit_category = 'lab'), 0)
         FROM claimdesk.benefit_usage WHERE member_id = $1",
    )
    .bind(f.subscriber)
    .fetch_one(owner)
    .await
    .unwrap();
    assert!(visits <= 12, "visit limit");
    assert!(lab <= Decimal::new(2000, 0), "annual limit");
}

#[test]
fn whatever_central_accepts_balances_and_stays_within_the_plan() {
    let rt = tokio::runtime::Runtime::new().unwrap();
    let (db, f, adj, login, codes) = rt.block_on(setup());
    let mut runner = TestRunner::new(Config {
        cases: 48,
        max_shrink_iters: 40,
        failure_persistence: None,
        ..Config::default()
    });
    runner
        .run(&scenario(), |s| {
            rt.block_on(case(&db, &f, &adj, &login, &codes, s));
            Ok(())
        })
        .unwrap();
    rt.block_on(db.cleanup());
}
