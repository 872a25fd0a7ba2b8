//! Central re-checks every figure of a decision (issue 19): the 835 balance,
//! the member's room under a per-family lock, what the engine denies or
//! holds, partial approvals' patient share, separation of duties, and
//! benefit limits. Each test talks to a real PostgreSQL server.

mod common;

use claimdesk_core::ErrorCode;
use common::{credentialed_fixture, error_code, Fixture, TestDb};
use rust_decimal::Decimal;
use serde_json::{json, Value};
use sqlx::postgres::PgPoolOptions;
use sqlx::PgPool;
use uuid::Uuid;

fn m(s: &str) -> Decimal {
    s.parse().unwrap()
}

/// A priced line: CO 45 for billed − allowed, PR 1/2/3 for the cost share.
fn line(n: u16, billed: &str, allowed: &str, ded: &str, copay: &str, coins: &str) -> Value {
    let (billed, allowed, ded, copay, coins) = (m(billed), m(allowed), m(ded), m(copay), m(coins));
    let mut adjustments = Vec::new();
    for (group, carc, amount) in [
        ("CO", "45", billed - allowed),
        ("PR", "1", ded),
        ("PR", "2", coins),
        ("PR", "3", copay),
    ] {
        if !amount.is_zero() {
            adjustments.push(json!({"group": group, "carc": carc, "amount": amount.to_string()}));
        }
    }
    json!({
        "line_number": n, "allowed": allowed.to_string(), "deductible": ded.to_string(),
        "copay": copay.to_string(), "coinsurance": coins.to_string(),
        "paid": (allowed - ded - copay - coins).to_string(),
        "group_code": if billed > allowed { Some("CO") } else { None },
        "carc": if billed > allowed { Some("45") } else { None },
        "rarc": [], "adjustments": adjustments,
    })
}

fn priced_against(ind_ded: &str, ind_oop: &str, fam_ded: &str, fam_oop: &str) -> Value {
    json!({"accumulators": {"individual_deductible": ind_ded, "individual_oop": ind_oop,
                            "family_deductible": fam_ded, "family_oop": fam_oop},
           "benefit_usage": {}})
}

struct Decision<'a> {
    kind: &'a str,
    lines: Value,
    explanation: Option<&'a str>,
    override_reason: Option<&'a str>,
    priced_against: Option<Value>,
}

impl<'a> Decision<'a> {
    fn approve(lines: Value) -> Self {
        Self {
            kind: "approve",
            lines,
            explanation: None,
            override_reason: None,
            priced_against: Some(priced_against("0", "0", "0", "0")),
        }
    }
}

async fn decide(
    pool: &PgPool,
    claim: Uuid,
    version: i32,
    d: &Decision<'_>,
) -> Result<i32, sqlx::Error> {
    let (group, carc) = if d.kind == "deny" {
        (Some("CO"), Some("50"))
    } else {
        (None, None)
    };
    sqlx::query_scalar("SELECT claimdesk.claim_decide($1, $2, $3, $4, $5, $6, $7, NULL, $8, $9)")
        .bind(claim)
        .bind(version)
        .bind(d.kind)
        .bind(&d.lines)
        .bind(group)
        .bind(carc)
        .bind(d.explanation)
        .bind(d.override_reason)
        .bind(&d.priced_against)
        .fetch_one(pool)
        .await
}

/// Leases `claim` to `login` as the owner would reassign it.
async fn lease(owner: &PgPool, claim: Uuid, login: &str) -> i32 {
    sqlx::query(
        "UPDATE claimdesk.queue_entry SET lease_holder = $2, lease_expires_at = now() + interval '15 minutes',
                leased_at = now() WHERE claim_id = $1",
    )
    .bind(claim)
    .bind(login)
    .execute(owner)
    .await
    .unwrap();
    sqlx::query_scalar("SELECT version FROM claimdesk.claim WHERE id = $1")
        .bind(claim)
        .fetch_one(owner)
        .await
        .unwrap()
}

/// Another claim like the fixture's, for `member`, received `received`.
async fn another_claim(
    owner: &PgPool,
    f: &Fixture,
    member: Uuid,
    service: &str,
    received: &str,
    billed: [&str; 2],
) -> Uuid {
    let id = Uuid::new_v4();
    sqlx::query(
        "INSERT INTO claimdesk.claim (id, claim_number, claim_type, member_id, policy_id, provider_id,
             service_from, service_to, received_at, prompt_pay_due, total_billed)
         VALUES ($1, claimdesk.next_claim_number($5::timestamptz::date), 'professional', $2, $3, $4,
                 $6::date, $6::date, $5::timestamptz, $5::timestamptz::date + 30, $7::numeric + $8::numeric);
         ",
    )
    .bind(id)
    .bind(member)
    .bind(f.policy)
    .bind(f.provider)
    .bind(received)
    .bind(service)
    .bind(billed[0])
    .bind(billed[1])
    .execute(owner)
    .await
    .unwrap();
    sqlx::query("INSERT INTO claimdesk.claim_diagnosis (id, claim_id, sequence, icd10_code) VALUES (gen_random_uuid(), $1, 1, 'J06.9')")
        .bind(id)
        .execute(owner)
        .await
        .unwrap();
    sqlx::query(
        "INSERT INTO claimdesk.claim_line (id, claim_id, line_number, service_date, cpt_code, diagnosis_pointers, billed)
         VALUES (gen_random_uuid(), $1, 1, $2::date, '99213', '{1}', $3::numeric),
                (gen_random_uuid(), $1, 2, $2::date, '99214', '{1}', $4::numeric)",
    )
    .bind(id)
    .bind(service)
    .bind(billed[0])
    .bind(billed[1])
    .execute(owner)
    .await
    .unwrap();
    id
}

async fn accumulators(owner: &PgPool, member: Uuid) -> (Decimal, Decimal) {
    sqlx::query_as(
        "SELECT coalesce(sum(deductible_met), 0), coalesce(sum(oop_met), 0) FROM claimdesk.accumulator
         WHERE member_id = $1 AND plan_year = 2025",
    )
    .bind(member)
    .fetch_one(owner)
    .await
    .unwrap()
}

async fn set_accumulator(owner: &PgPool, f: &Fixture, member: Uuid, ded: &str, oop: &str) {
    sqlx::query(
        "INSERT INTO claimdesk.accumulator (id, member_id, policy_id, plan_year, deductible_met, oop_met)
         VALUES (gen_random_uuid(), $1, $2, 2025, $3::numeric, $4::numeric)
         ON CONFLICT (member_id, policy_id, plan_year) DO UPDATE SET deductible_met = EXCLUDED.deductible_met,
             oop_met = EXCLUDED.oop_met",
    )
    .bind(member)
    .bind(f.policy)
    .bind(ded)
    .bind(oop)
    .execute(owner)
    .await
    .unwrap();
}

fn user(db: &TestDb, role: &str) -> String {
    format!("{}_{role}", db.name)
}

#[tokio::test]
async fn central_refuses_figures_that_do_not_balance_or_pass_the_room() {
    let mut db = TestDb::new().await;
    let f = credentialed_fixture(&db.owner).await;
    let adj = db.login("adjudicator").await;
    let v = lease(&db.owner, f.claim, &user(&db, "adjudicator")).await;
    let good = || {
        json!([
            line(1, "150.00", "120.00", "50.00", "0", "14.00"),
            line(2, "100.00", "90.00", "0", "20.00", "0")
        ])
    };
    let refused = |mut lines: Value, edit: &dyn Fn(&mut Value)| {
        edit(&mut lines);
        lines
    };

    // paid + adjustments ≠ billed.
    let bad = refused(good(), &|l| l[0]["paid"] = json!("60.00"));
    let err = decide(&adj, f.claim, v, &Decision::approve(bad))
        .await
        .unwrap_err();
    assert_eq!(error_code(err), ErrorCode::FiguresRejected);
    // No adjustments at all: the balance cannot be checked.
    let bad = refused(good(), &|l| {
        l[1].as_object_mut()
            .unwrap()
            .retain(|k, _| k != "adjustments")
    });
    let err = decide(&adj, f.claim, v, &Decision::approve(bad))
        .await
        .unwrap_err();
    assert_eq!(error_code(err), ErrorCode::FiguresRejected);
    // A negative amount, balanced by a larger adjustment.
    let bad = refused(good(), &|l| {
        l[1]["copay"] = json!("-5.00");
        l[1]["adjustments"] = json!([{"group": "CO", "carc": "45", "amount": "10.00"}, {"group": "PR", "carc": "3", "amount": "-5.00"}]);
        l[1]["paid"] = json!("95.00");
    });
    let err = decide(&adj, f.claim, v, &Decision::approve(bad))
        .await
        .unwrap_err();
    assert_eq!(error_code(err), ErrorCode::FiguresRejected);
    // A group its reason is not reported with (45 is contractual, never PR).
    let bad = refused(good(), &|l| l[0]["adjustments"][0]["group"] = json!("PR"));
    let err = decide(&adj, f.claim, v, &Decision::approve(bad))
        .await
        .unwrap_err();
    assert_eq!(error_code(err), ErrorCode::FiguresRejected);
    // The deductible column says one thing, its PR 1 adjustment another.
    let bad = refused(good(), &|l| {
        l[0]["deductible"] = json!("40.00");
        l[0]["coinsurance"] = json!("24.00");
    });
    let err = decide(&adj, f.claim, v, &Decision::approve(bad))
        .await
        .unwrap_err();
    assert_eq!(error_code(err), ErrorCode::FiguresRejected);

    // The member has 30.00 of deductible left; the desktop knew (its view
    // matches central's), so a share of 50.00 is the figures' fault.
    set_accumulator(&db.owner, &f, f.subscriber, "470.00", "470.00").await;
    let mut d = Decision::approve(good());
    d.priced_against = Some(priced_against("470.00", "470.00", "470.00", "470.00"));
    let err = decide(&adj, f.claim, v, &d).await.unwrap_err();
    assert_eq!(error_code(err), ErrorCode::FiguresRejected);
    // Without a view to compare, central cannot blame the figures: re-price.
    d.priced_against = None;
    let err = decide(&adj, f.claim, v, &d).await.unwrap_err();
    assert_eq!(error_code(err), ErrorCode::AccumulatorsChanged);
    // The family's room binds too: the child used the family's deductible.
    set_accumulator(&db.owner, &f, f.subscriber, "0", "0").await;
    set_accumulator(&db.owner, &f, f.child, "480.00", "480.00").await;
    let mut d = Decision::approve(json!([
        line(1, "150.00", "120.00", "20.00", "0", "0"),
        line(2, "100.00", "90.00", "0", "0", "0")
    ]));
    d.priced_against = Some(priced_against("0", "0", "480.00", "480.00"));
    // 480 of the 1,000 family deductible leaves 520; the member's own 500 binds.
    decide(&adj, f.claim, v, &d).await.unwrap();
    let nothing_stored: i64 =
        sqlx::query_scalar("SELECT count(*) FROM claimdesk.claim_booking WHERE claim_id = $1")
            .bind(f.claim)
            .fetch_one(&db.owner)
            .await
            .unwrap();
    assert_eq!(nothing_stored, 1, "only the accepted decision booked");
    assert_eq!(
        accumulators(&db.owner, f.subscriber).await,
        (m("20.00"), m("20.00"))
    );
    let (paid, member): (Decimal, Decimal) = sqlx::query_as(
        "SELECT total_paid, member_responsibility FROM claimdesk.claim WHERE id = $1",
    )
    .bind(f.claim)
    .fetch_one(&db.owner)
    .await
    .unwrap();
    assert_eq!((paid, member), (m("190.00"), m("20.00")));
    db.cleanup().await;
}

#[tokio::test]
async fn a_stale_view_of_the_accumulators_is_refused_so_the_desktop_reprices() {
    let mut db = TestDb::new().await;
    let f = credentialed_fixture(&db.owner).await;
    let adj = db.login("adjudicator").await;
    let v = lease(&db.owner, f.claim, &user(&db, "adjudicator")).await;
    // Someone else's decision moved the family's totals after this desktop priced.
    set_accumulator(&db.owner, &f, f.child, "100.00", "100.00").await;
    let lines = json!([
        line(1, "150.00", "120.00", "50.00", "0", "0"),
        line(2, "100.00", "90.00", "0", "0", "0")
    ]);
    let err = decide(&adj, f.claim, v, &Decision::approve(lines.clone()))
        .await
        .unwrap_err();
    assert_eq!(error_code(err), ErrorCode::AccumulatorsChanged);
    assert_eq!(
        accumulators(&db.owner, f.subscriber).await,
        (Decimal::ZERO, Decimal::ZERO)
    );
    // Priced again against today's totals, the same figures go through.
    let mut d = Decision::approve(lines);
    d.priced_against = Some(priced_against("0", "0", "100.00", "100.00"));
    decide(&adj, f.claim, v, &d).await.unwrap();
    assert_eq!(
        accumulators(&db.owner, f.subscriber).await,
        (m("50.00"), m("50.00"))
    );
    db.cleanup().await;
}

/// 32 connections decide 32 claims of one family at once, each priced
/// against the totals it last read and re-priced when central says they
/// moved. The family's deductible is taken once, never twice.
#[tokio::test]
async fn concurrent_decisions_on_one_family_never_take_the_same_deductible_twice() {
    let mut db = TestDb::new().await;
    let f = credentialed_fixture(&db.owner).await;
    db.login("adjudicator").await;
    let login = user(&db, "adjudicator");
    let pool = PgPoolOptions::new()
        .max_connections(32)
        .connect_with(db.options().username(&login).password("pw-for-tests"))
        .await
        .unwrap();
    let mut claims = Vec::new();
    for i in 0..32 {
        let member = if i % 2 == 0 { f.subscriber } else { f.child };
        // A day apart, so none is a duplicate of another.
        let day = chrono::NaiveDate::from_ymd_opt(2025, 3, 1).unwrap() + chrono::Duration::days(i);
        let c = another_claim(
            &db.owner,
            &f,
            member,
            &day.to_string(),
            "2025-04-12 10:00Z",
            ["200.00", "100.00"],
        )
        .await;
        claims.push((c, member, lease(&db.owner, c, &login).await));
    }
    let (plan_ind_ded, plan_fam_ded) = (m("500"), m("1000"));
    let mut tasks = Vec::new();
    for (claim, member, version) in claims {
        let pool = pool.clone();
        let policy = f.policy;
        tasks.push(tokio::spawn(async move {
            let mut refusals = 0;
            loop {
                // Read the totals as the desktop's pricing facts would, and
                // price line 1's deductible: 150.00 or what room is left.
                let (ind, ind_oop, fam, fam_oop): (Decimal, Decimal, Decimal, Decimal) = sqlx::query_as(
                    "SELECT coalesce((SELECT deductible_met FROM claimdesk.accumulator WHERE member_id = $1 AND policy_id = $2 AND plan_year = 2025), 0),
                            coalesce((SELECT oop_met FROM claimdesk.accumulator WHERE member_id = $1 AND policy_id = $2 AND plan_year = 2025), 0),
                            coalesce((SELECT deductible_met FROM claimdesk.family_accumulator WHERE policy_id = $2 AND plan_year = 2025), 0),
                            coalesce((SELECT oop_met FROM claimdesk.family_accumulator WHERE policy_id = $2 AND plan_year = 2025), 0)",
                )
                .bind(member)
                .bind(policy)
                .fetch_one(&pool)
                .await
                .unwrap();
                let room = (plan_ind_ded - ind).min(plan_fam_ded - fam).max(Decimal::ZERO);
                let ded = m("150.00").min(room);
                let mut d = Decision::approve(json!([
                    line(1, "200.00", "150.00", &ded.to_string(), "0", "0"),
                    line(2, "100.00", "80.00", "0", "0", "0"),
                ]));
                d.priced_against = Some(priced_against(&ind.to_string(), &ind_oop.to_string(), &fam.to_string(), &fam_oop.to_string()));
                match decide(&pool, claim, version, &d).await {
                    Ok(_) => return (ded, refusals),
                    Err(e) => {
                        assert_eq!(error_code(e), ErrorCode::AccumulatorsChanged);
                        refusals += 1;
                    }
                }
            }
        }));
    }
    let mut booked = Decimal::ZERO;
    let mut refusals = 0;
    for t in tasks {
        let (ded, r) = t.await.unwrap();
        booked += ded;
        refusals += r;
    }
    let (sub_ded, _) = accumulators(&db.owner, f.subscriber).await;
    let (child_ded, _) = accumulators(&db.owner, f.child).await;
    assert_eq!(
        booked,
        m("1000.00"),
        "the family deductible, taken exactly once"
    );
    assert_eq!(
        sub_ded + child_ded,
        booked,
        "accumulators equal what the decisions booked"
    );
    assert!(sub_ded <= plan_ind_ded && child_ded <= plan_ind_ded);
    let ledger: Decimal = sqlx::query_scalar("SELECT sum(deductible) FROM claimdesk.claim_booking")
        .fetch_one(&db.owner)
        .await
        .unwrap();
    assert_eq!(ledger, booked);
    assert!(
        refusals > 0,
        "some desktops priced against totals that moved"
    );
    pool.close().await;
    db.cleanup().await;
}

#[tokio::test]
async fn returning_a_routed_claim_takes_its_share_back_and_deciding_again_books_it_once() {
    let mut db = TestDb::new().await;
    let f = credentialed_fixture(&db.owner).await;
    let adj = db.login("adjudicator").await;
    let sup = db.login("supervisor").await;
    sqlx::query("INSERT INTO claimdesk.authority_limit (login, max_paid) VALUES ($1, 100.00)")
        .bind(user(&db, "adjudicator"))
        .execute(&db.owner)
        .await
        .unwrap();
    let lines = || {
        json!([
            line(1, "150.00", "120.00", "50.00", "0", "14.00"),
            line(2, "100.00", "90.00", "0", "20.00", "0")
        ])
    };
    let v = lease(&db.owner, f.claim, &user(&db, "adjudicator")).await;
    decide(&adj, f.claim, v, &Decision::approve(lines()))
        .await
        .unwrap();
    assert_eq!(
        accumulators(&db.owner, f.subscriber).await,
        (m("50.00"), m("84.00"))
    );

    sqlx::query("SELECT claimdesk.claim_approve_routed($1, false, 'check the units')")
        .bind(f.claim)
        .execute(&sup)
        .await
        .unwrap();
    assert_eq!(
        accumulators(&db.owner, f.subscriber).await,
        (Decimal::ZERO, Decimal::ZERO)
    );

    let v = lease(&db.owner, f.claim, &user(&db, "adjudicator")).await;
    decide(&adj, f.claim, v, &Decision::approve(lines()))
        .await
        .unwrap();
    assert_eq!(
        accumulators(&db.owner, f.subscriber).await,
        (m("50.00"), m("84.00")),
        "booked once"
    );
    let rows: Vec<(Decimal, bool)> = sqlx::query_as(
        "SELECT deductible, reverses IS NOT NULL FROM claimdesk.claim_booking WHERE claim_id = $1 ORDER BY booked_at, reverses NULLS FIRST",
    )
    .bind(f.claim)
    .fetch_all(&db.owner)
    .await
    .unwrap();
    assert_eq!(
        rows,
        vec![
            (m("50.00"), false),
            (m("-50.00"), true),
            (m("50.00"), false)
        ]
    );
    // The ledger is append-only, even for the owner.
    assert!(sqlx::query("DELETE FROM claimdesk.claim_booking")
        .execute(&db.owner)
        .await
        .is_err());
    db.cleanup().await;
}

#[tokio::test]
async fn what_the_engine_denies_cannot_be_approved_and_a_hold_needs_an_override() {
    let mut db = TestDb::new().await;
    let f = credentialed_fixture(&db.owner).await;
    let adj = db.login("adjudicator").await;
    let login = user(&db, "adjudicator");
    let payable = || {
        json!([
            line(1, "150.00", "120.00", "0", "0", "0"),
            line(2, "100.00", "90.00", "0", "0", "0")
        ])
    };

    // The child was not covered on 2024-07-15 (a gap between periods).
    let gap = another_claim(
        &db.owner,
        &f,
        f.child,
        "2024-07-15",
        "2024-08-01 09:00Z",
        ["150.00", "100.00"],
    )
    .await;
    let v = lease(&db.owner, gap, &login).await;
    let err = decide(&adj, gap, v, &Decision::approve(payable()))
        .await
        .unwrap_err();
    assert_eq!(error_code(err), ErrorCode::EngineDenies);
    // A partial approval pays too: refused the same way.
    let mut partial = Decision::approve(payable());
    partial.kind = "partial";
    partial.explanation = Some("paying the visit only");
    let err = decide(&adj, gap, v, &partial).await.unwrap_err();
    assert_eq!(error_code(err), ErrorCode::EngineDenies);
    // Denying it is what the engine asks for.
    let deny_lines = json!([
        {"line_number": 1, "allowed": "0", "deductible": "0", "copay": "0", "coinsurance": "0", "paid": "0",
         "group_code": "CO", "carc": "50", "rarc": [], "adjustments": [{"group": "CO", "carc": "50", "amount": "150.00"}]},
        {"line_number": 2, "allowed": "0", "deductible": "0", "copay": "0", "coinsurance": "0", "paid": "0",
         "group_code": "CO", "carc": "50", "rarc": [], "adjustments": [{"group": "CO", "carc": "50", "amount": "100.00"}]}
    ]);
    let deny = Decision {
        kind: "deny",
        lines: deny_lines,
        explanation: Some("not covered on that date"),
        override_reason: None,
        priced_against: None,
    };
    decide(&adj, gap, v, &deny).await.unwrap();

    // An exact duplicate received later is denied; the earlier one is not its
    // duplicate, and a replacement of the earlier one is not a duplicate.
    let first = another_claim(
        &db.owner,
        &f,
        f.subscriber,
        "2025-04-02",
        "2025-04-05 09:00Z",
        ["150.00", "100.00"],
    )
    .await;
    let again = another_claim(
        &db.owner,
        &f,
        f.subscriber,
        "2025-04-02",
        "2025-04-06 09:00Z",
        ["150.00", "100.00"],
    )
    .await;
    let v = lease(&db.owner, again, &login).await;
    let err = decide(&adj, again, v, &Decision::approve(payable()))
        .await
        .unwrap_err();
    assert_eq!(error_code(err), ErrorCode::EngineDenies);
    let v = lease(&db.owner, first, &login).await;
    decide(&adj, first, v, &Decision::approve(payable()))
        .await
        .unwrap();
    let replacement = another_claim(
        &db.owner,
        &f,
        f.subscriber,
        "2025-04-02",
        "2025-04-20 09:00Z",
        ["150.00", "100.00"],
    )
    .await;
    sqlx::query(
        "UPDATE claimdesk.claim SET frequency_code = '7', replaces_claim_id = $2 WHERE id = $1",
    )
    .bind(replacement)
    .bind(first)
    .execute(&db.owner)
    .await
    .unwrap();
    // With `again` voided, only `first` is on file: the claim it replaces.
    sqlx::query("UPDATE claimdesk.claim SET status = 'void' WHERE id = $1")
        .bind(again)
        .execute(&db.owner)
        .await
        .unwrap();
    let v = lease(&db.owner, replacement, &login).await;
    decide(&adj, replacement, v, &Decision::approve(payable()))
        .await
        .unwrap();

    // A provider on an exclusion list: never paid.
    sqlx::query("UPDATE claimdesk.provider SET excluded = true, exclusion_source = 'oig_leie', exclusion_date = '2025-01-01' WHERE id = $1")
        .bind(f.provider)
        .execute(&db.owner)
        .await
        .unwrap();
    let v = lease(&db.owner, f.claim, &login).await;
    let err = decide(&adj, f.claim, v, &Decision::approve(payable()))
        .await
        .unwrap_err();
    assert_eq!(error_code(err), ErrorCode::EngineDenies);
    sqlx::query("UPDATE claimdesk.provider SET excluded = false, exclusion_source = NULL, exclusion_date = NULL WHERE id = $1")
        .bind(f.provider)
        .execute(&db.owner)
        .await
        .unwrap();

    // Not credentialed on the date of service: held; approved only with a reason.
    sqlx::query("UPDATE claimdesk.provider_credential SET status = 'expired' WHERE id = $1")
        .bind(f.credential)
        .execute(&db.owner)
        .await
        .unwrap();
    let err = decide(&adj, f.claim, v, &Decision::approve(payable()))
        .await
        .unwrap_err();
    assert_eq!(error_code(err), ErrorCode::OverrideRequired);
    let mut d = Decision::approve(payable());
    d.override_reason = Some("License renewal confirmed by the board by phone");
    decide(&adj, f.claim, v, &d).await.unwrap();
    let (reason, edits): (Option<String>, Vec<String>) = sqlx::query_as(
        "SELECT override_reason, overridden_edits FROM claimdesk.claim WHERE id = $1",
    )
    .bind(f.claim)
    .fetch_one(&db.owner)
    .await
    .unwrap();
    assert_eq!(
        reason.as_deref(),
        Some("License renewal confirmed by the board by phone")
    );
    assert_eq!(edits, vec!["provider_not_credentialed".to_string()]);
    let audited: Value = sqlx::query_scalar(
        "SELECT new_values FROM claimdesk.audit_log WHERE action = 'override' AND resource_id = $1",
    )
    .bind(f.claim.to_string())
    .fetch_one(&db.owner)
    .await
    .unwrap();
    assert_eq!(audited["edits"], json!(["provider_not_credentialed"]));
    db.cleanup().await;
}

#[tokio::test]
async fn a_partial_approval_books_a_patient_share_but_not_a_contractual_cut() {
    let mut db = TestDb::new().await;
    let f = credentialed_fixture(&db.owner).await;
    let adj = db.login("adjudicator").await;
    let login = user(&db, "adjudicator");
    let mut partial = Decision::approve(json!([
        // Priced 120.00 allowed, 0 share; reduced by 30.00 PR 2 (coinsurance).
        line(1, "150.00", "120.00", "0", "0", "30.00"),
        line(2, "100.00", "90.00", "0", "0", "0"),
    ]));
    partial.kind = "partial";
    partial.explanation = Some("coinsurance applies to the supply");
    let v = lease(&db.owner, f.claim, &login).await;
    decide(&adj, f.claim, v, &partial).await.unwrap();
    let member: Decimal =
        sqlx::query_scalar("SELECT member_responsibility FROM claimdesk.claim WHERE id = $1")
            .bind(f.claim)
            .fetch_one(&db.owner)
            .await
            .unwrap();
    assert_eq!(member, m("30.00"));
    assert_eq!(
        accumulators(&db.owner, f.subscriber).await,
        (Decimal::ZERO, m("30.00"))
    );

    // A contractual cut (CO 45 grows, allowed falls) leaves the member alone.
    let other = another_claim(
        &db.owner,
        &f,
        f.child,
        "2025-05-01",
        "2025-05-03 09:00Z",
        ["150.00", "100.00"],
    )
    .await;
    let mut cut = Decision::approve(json!([
        line(1, "150.00", "90.00", "0", "0", "0"),
        line(2, "100.00", "90.00", "0", "0", "0")
    ]));
    cut.kind = "partial";
    cut.explanation = Some("multiple procedure reduction");
    cut.priced_against = Some(priced_against("0", "0", "0", "30.00"));
    let v = lease(&db.owner, other, &login).await;
    decide(&adj, other, v, &cut).await.unwrap();
    let member: Decimal =
        sqlx::query_scalar("SELECT member_responsibility FROM claimdesk.claim WHERE id = $1")
            .bind(other)
            .fetch_one(&db.owner)
            .await
            .unwrap();
    assert_eq!(member, Decimal::ZERO);
    assert_eq!(
        accumulators(&db.owner, f.child).await,
        (Decimal::ZERO, Decimal::ZERO)
    );
    db.cleanup().await;
}

#[tokio::test]
async fn a_supervisor_approves_neither_their_own_decision_nor_above_their_limit() {
    let mut db = TestDb::new().await;
    let f = credentialed_fixture(&db.owner).await;
    let sup = db.login("supervisor").await;
    let low = db.login("supervisor").await;
    let high = db.login("supervisor").await;
    let (me, low_name) = (
        user(&db, "supervisor"),
        format!("{}1", user(&db, "supervisor")),
    );
    for (who, limit) in [(&me, "100.00"), (&low_name, "50.00")] {
        sqlx::query(
            "INSERT INTO claimdesk.authority_limit (login, max_paid) VALUES ($1, $2::numeric)",
        )
        .bind(who)
        .bind(limit)
        .execute(&db.owner)
        .await
        .unwrap();
    }
    let v = lease(&db.owner, f.claim, &me).await;
    let lines = json!([
        line(1, "150.00", "120.00", "0", "0", "0"),
        line(2, "100.00", "90.00", "0", "0", "0")
    ]);
    decide(&sup, f.claim, v, &Decision::approve(lines))
        .await
        .unwrap();
    let routed: bool =
        sqlx::query_scalar("SELECT requires_approval FROM claimdesk.claim WHERE id = $1")
            .bind(f.claim)
            .fetch_one(&db.owner)
            .await
            .unwrap();
    assert!(
        routed,
        "210.00 is above the deciding supervisor's own 100.00"
    );
    let err = sqlx::query("SELECT claimdesk.claim_approve_routed($1, true, 'fine')")
        .bind(f.claim)
        .execute(&sup)
        .await
        .unwrap_err();
    assert_eq!(error_code(err), ErrorCode::SeparationOfDuties);
    let err = sqlx::query("SELECT claimdesk.claim_approve_routed($1, true, 'fine')")
        .bind(f.claim)
        .execute(&low)
        .await
        .unwrap_err();
    assert_eq!(error_code(err), ErrorCode::AboveAuthority);
    sqlx::query("SELECT claimdesk.claim_approve_routed($1, true, 'operative report checked')")
        .bind(f.claim)
        .execute(&high)
        .await
        .unwrap();
    db.cleanup().await;
}

#[tokio::test]
async fn benefit_visit_and_annual_limits_hold_on_central() {
    let mut db = TestDb::new().await;
    let f = credentialed_fixture(&db.owner).await;
    let adj = db.login("adjudicator").await;
    let login = user(&db, "adjudicator");
    sqlx::query(
        "INSERT INTO claimdesk.plan_benefit (id, plan_id, benefit_category, visit_limit, annual_limit)
         VALUES (gen_random_uuid(), $1, 'office_visit', 2, 500.00)",
    )
    .bind(f.plan)
    .execute(&db.owner)
    .await
    .unwrap();
    let usage = |visits: i32, paid: &str| {
        let mut p = priced_against("0", "0", "0", "0");
        p["benefit_usage"] = json!({"office_visit": {"visits": visits, "paid": paid}});
        p
    };
    let set_usage = |visits: i32, paid: &'static str| {
        let owner = db.owner.clone();
        let (member, policy) = (f.subscriber, f.policy);
        async move {
            sqlx::query(
                "INSERT INTO claimdesk.benefit_usage (member_id, policy_id, plan_year, benefit_category, visits, paid)
                 VALUES ($1, $2, 2025, 'office_visit', $3, $4::numeric)
                 ON CONFLICT (member_id, policy_id, plan_year, benefit_category)
                 DO UPDATE SET visits = EXCLUDED.visits, paid = EXCLUDED.paid",
            )
            .bind(member)
            .bind(policy)
            .bind(visits)
            .bind(paid)
            .execute(&owner)
            .await
            .unwrap();
        }
    };
    let lines = || {
        json!([
            line(1, "150.00", "120.00", "0", "0", "0"),
            line(2, "100.00", "90.00", "0", "0", "0")
        ])
    };
    let v = lease(&db.owner, f.claim, &login).await;

    // Both visits used: one more is past the limit.
    set_usage(2, "200.00").await;
    let mut d = Decision::approve(lines());
    d.priced_against = Some(usage(2, "200.00"));
    let err = decide(&adj, f.claim, v, &d).await.unwrap_err();
    assert_eq!(error_code(err), ErrorCode::BenefitLimitReached);
    // The desktop priced against one visit used: its view is stale.
    d.priced_against = Some(usage(1, "100.00"));
    let err = decide(&adj, f.claim, v, &d).await.unwrap_err();
    assert_eq!(error_code(err), ErrorCode::AccumulatorsChanged);
    // One visit left but only 100.00 of the 500.00: paying 210.00 passes it.
    set_usage(1, "400.00").await;
    d.priced_against = Some(usage(1, "400.00"));
    let err = decide(&adj, f.claim, v, &d).await.unwrap_err();
    assert_eq!(error_code(err), ErrorCode::BenefitLimitReached);
    // Within both limits: booked as one visit and what it paid.
    set_usage(1, "100.00").await;
    d.priced_against = Some(usage(1, "100.00"));
    decide(&adj, f.claim, v, &d).await.unwrap();
    let (visits, paid): (i32, Decimal) = sqlx::query_as(
        "SELECT visits, paid FROM claimdesk.benefit_usage WHERE member_id = $1 AND benefit_category = 'office_visit'",
    )
    .bind(f.subscriber)
    .fetch_one(&db.owner)
    .await
    .unwrap();
    assert_eq!((visits, paid), (2, m("310.00")));
    db.cleanup().await;
}
