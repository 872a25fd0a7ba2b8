//! The payment cycle on real PostgreSQL (issue 21): every finalized claim
//! of a seeded database paid (or remitted as denied) exactly once, one
//! payment and one 835 per payee; each 835 balances and reads back with
//! the figures central booked; interest on late claims is paid as PLB L6;
//! a run stopped midway is resumed without paying anything twice or
//! skipping a claim.

mod common;

use std::collections::{HashMap, HashSet};

use chrono::{Duration, NaiveDate, TimeZone, Utc};
use claimdesk_core::fieldcrypt::FieldKeys;
use claimdesk_core::payments::{self, PaymentError, PaymentOptions};
use claimdesk_core::seed::{self, SeedOptions};
use claimdesk_core::x12::remit::{self, ClaimStatus};
use common::TestDb;
use rust_decimal::Decimal;
use uuid::Uuid;

const THROUGH: &str = "2026-11-21";

async fn seeded() -> (TestDb, FieldKeys) {
    let db = TestDb::new().await;
    let keys = FieldKeys::generate();
    let mut conn = db.owner_connection().await;
    seed::seed(
        &mut conn,
        &keys,
        &SeedOptions {
            claims: 500,
            seed: 11,
            providers: 25,
            now: Utc.with_ymd_and_hms(2026, 11, 21, 23, 59, 59).unwrap(),
        },
        |_, _| {},
    )
    .await
    .unwrap();
    (db, keys)
}

fn options(payment_date: &str) -> PaymentOptions {
    PaymentOptions {
        payment_date: payment_date.parse().unwrap(),
        ..PaymentOptions::new(Utc.with_ymd_and_hms(2026, 11, 22, 18, 30, 0).unwrap())
    }
}

/// The claims a run through THROUGH must pay, with what central booked.
async fn payable(db: &TestDb) -> HashMap<String, (String, Decimal)> {
    let rows: Vec<(String, String, Decimal)> = sqlx::query_as(
        "SELECT claim_number, status, coalesce((SELECT sum(coalesce(l.paid, 0)) FROM claimdesk.claim_line l
                                                WHERE l.claim_id = c.id), 0)
         FROM claimdesk.claim c
         WHERE status IN ('approved', 'partially_approved', 'denied')
           AND (NOT requires_approval OR approved_by IS NOT NULL) AND adjudicated_at::date <= $1",
    )
    .bind(THROUGH.parse::<NaiveDate>().unwrap())
    .fetch_all(&db.owner)
    .await
    .unwrap();
    rows.into_iter().map(|(n, s, p)| (n, (s, p))).collect()
}

#[tokio::test]
async fn a_run_pays_each_claim_once_with_an_835_per_payee_that_balances() {
    let (db, keys) = seeded().await;
    let before = payable(&db).await;
    assert!(before.len() > 100, "the seed decided claims to pay");
    let mut files: Vec<(String, String)> = vec![];
    let report = payments::run(
        &db.owner,
        &keys,
        THROUGH.parse().unwrap(),
        &options("2026-11-23"),
        |made, text| {
            files.push((made.trace.clone(), text.to_string()));
            Ok(())
        },
    )
    .await
    .unwrap();
    assert!(!report.resumed);
    assert_eq!(files.len(), report.payments.len());
    let payees: i64 = sqlx::query_scalar(
        "SELECT count(DISTINCT coalesce(billing_provider_id, provider_id)) FROM claimdesk.claim c
         WHERE claim_number = ANY($1)",
    )
    .bind(before.keys().cloned().collect::<Vec<_>>())
    .fetch_one(&db.owner)
    .await
    .unwrap();
    assert_eq!(
        report.payments.len() as i64,
        payees,
        "one payment per payee"
    );

    let mut seen: HashSet<String> = HashSet::new();
    for ((trace, text), made) in files.iter().zip(&report.payments) {
        let back = remit::read(text.as_bytes()).unwrap();
        assert_eq!(back.len(), 1);
        let r = &back[0];
        assert_eq!(remit::imbalances(r), vec![], "payment {trace}");
        assert_eq!(&r.trace, trace);
        assert_eq!(r.amount, made.amount);
        assert_eq!(r.payee.npi, made.payee_npi);
        assert_eq!(
            r.payee.tax_id.expose().len(),
            9,
            "the payee's TIN, decrypted"
        );
        let (amount, interest, claims): (Decimal, Decimal, i32) = sqlx::query_as(
            "SELECT amount, interest, claims FROM claimdesk.payment WHERE trace_number = $1",
        )
        .bind(trace)
        .fetch_one(&db.owner)
        .await
        .unwrap();
        assert_eq!(
            (amount, interest, claims as usize),
            (r.amount, made.interest, r.claims.len())
        );
        for c in &r.claims {
            let (status, booked) = &before[&c.payer_claim_number];
            assert_eq!(
                &c.paid, booked,
                "{}: CLP04 is what central booked",
                c.payer_claim_number
            );
            assert_eq!(c.status == ClaimStatus::Denied, status == "denied");
            assert!(status != "denied" || c.paid.is_zero());
            assert!(
                seen.insert(c.payer_claim_number.clone()),
                "a claim in two advices"
            );
        }
    }
    assert_eq!(
        seen,
        before.keys().cloned().collect::<HashSet<_>>(),
        "every claim remitted"
    );
    // Approved claims are paid; denied ones stay denied, remitted.
    let (paid, denied_left): (i64, i64) = sqlx::query_as(
        "SELECT count(*) FILTER (WHERE status = 'paid'), count(*) FILTER (WHERE status = 'denied')
         FROM claimdesk.claim WHERE claim_number = ANY($1)",
    )
    .bind(before.keys().cloned().collect::<Vec<_>>())
    .fetch_one(&db.owner)
    .await
    .unwrap();
    // Approved with nothing to pay (all to the deductible) is paid too: $0.
    let approved = before.values().filter(|(s, _)| s != "denied").count() as i64;
    assert_eq!(paid, approved);
    assert_eq!(denied_left, before.len() as i64 - approved);
    let history: i64 = sqlx::query_scalar(
        "SELECT count(*) FROM claimdesk.claim_status_history h JOIN claimdesk.claim c ON c.id = h.claim_id
         WHERE h.to_status = 'paid' AND c.claim_number = ANY($1)
           AND (h.reason LIKE 'Paid: check %' OR h.reason LIKE 'Remitted (nothing paid)%')",
    )
    .bind(before.keys().cloned().collect::<Vec<_>>())
    .fetch_one(&db.owner)
    .await
    .unwrap();
    assert_eq!(history, approved);
    let audited: i64 = sqlx::query_scalar(
        "SELECT count(*) FROM claimdesk.audit_log WHERE action = 'payment' AND resource_type = 'payment'",
    )
    .fetch_one(&db.owner)
    .await
    .unwrap();
    assert_eq!(audited, report.payments.len() as i64);

    // Again: nothing left to pay.
    let again = payments::run(
        &db.owner,
        &keys,
        THROUGH.parse().unwrap(),
        &options("2026-11-23"),
        |_, _| panic!("nothing to send"),
    )
    .await
    .unwrap();
    assert!(again.payments.is_empty());
    db.cleanup().await;
}

#[tokio::test]
async fn late_claims_are_paid_their_interest_as_plb_l6() {
    let (db, keys) = seeded().await;
    // Paying two months after the run day: every claim is past its due date.
    let day = "2027-01-21";
    let mut texts = vec![];
    let report = payments::run(
        &db.owner,
        &keys,
        THROUGH.parse().unwrap(),
        &options(day),
        |_, t| {
            texts.push(t.to_string());
            Ok(())
        },
    )
    .await
    .unwrap();
    let interest: Decimal = report.payments.iter().map(|p| p.interest).sum();
    assert!(interest > Decimal::ZERO);
    // One claim's interest, as the prompt-pay rule counts it.
    let (number, paid, due, booked): (String, Decimal, NaiveDate, Decimal) = sqlx::query_as(
        "SELECT c.claim_number, pc.paid, c.prompt_pay_due, pc.interest FROM claimdesk.payment_claim pc
         JOIN claimdesk.claim c ON c.id = pc.claim_id WHERE pc.paid > 0 ORDER BY c.claim_number LIMIT 1",
    )
    .fetch_one(&db.owner)
    .await
    .unwrap();
    let expected = claimdesk_core::aging::interest_exposure(paid, due, day.parse().unwrap());
    assert!(expected > Decimal::ZERO);
    assert_eq!(booked, expected);
    let advice = texts
        .iter()
        .find(|t| t.contains(&format!("L6:{number}")))
        .unwrap();
    let r = &remit::read(advice.as_bytes()).unwrap()[0];
    let plb = r
        .provider_adjustments
        .iter()
        .find(|p| p.reference == number)
        .unwrap();
    assert_eq!((plb.reason.as_str(), plb.amount), ("L6", -expected));
    assert_eq!(remit::imbalances(r), vec![]);
    // BPR02 = Σ CLP04 + interest.
    let clp: Decimal = r.claims.iter().map(|c| c.paid).sum();
    let owed: Decimal = r.provider_adjustments.iter().map(|p| -p.amount).sum();
    assert_eq!(r.amount, clp + owed);
    db.cleanup().await;
}

#[tokio::test]
async fn a_run_stopped_midway_is_resumed_and_pays_each_claim_exactly_once() {
    let (db, keys) = seeded().await;
    let before = payable(&db).await;
    let through: NaiveDate = THROUGH.parse().unwrap();
    // The second file cannot be written: the run stops there, its payment
    // committed.
    let mut n = 0;
    let stopped = payments::run(&db.owner, &keys, through, &options("2026-11-23"), |_, _| {
        n += 1;
        if n == 2 {
            Err(std::io::Error::other("disk full"))
        } else {
            Ok(())
        }
    })
    .await
    .unwrap_err();
    assert_eq!(stopped.code(), "payment_output");
    let committed: i64 = sqlx::query_scalar("SELECT count(*) FROM claimdesk.payment")
        .fetch_one(&db.owner)
        .await
        .unwrap();
    // Two payees are paid at once: the one beside the failing write may
    // have committed too.
    assert!(
        (2..=3).contains(&committed),
        "{committed} payments committed"
    );
    // Another day cannot start while this one is under way.
    let other = payments::run(
        &db.owner,
        &keys,
        through - Duration::days(3),
        &options("2026-11-23"),
        |_, _| Ok(()),
    )
    .await
    .unwrap_err();
    assert!(matches!(other, PaymentError::RunUnderWay(d) if d == through));
    let resumed = payments::run(&db.owner, &keys, through, &options("2026-11-23"), |_, _| {
        Ok(())
    })
    .await
    .unwrap();
    assert!(resumed.resumed);
    let rows: Vec<(String, i64)> = sqlx::query_as(
        "SELECT c.claim_number, count(*) FROM claimdesk.payment_claim pc JOIN claimdesk.claim c ON c.id = pc.claim_id
         GROUP BY 1",
    )
    .fetch_all(&db.owner)
    .await
    .unwrap();
    assert!(rows.iter().all(|(_, n)| *n == 1), "a claim paid twice");
    assert_eq!(
        rows.iter().map(|(c, _)| c.clone()).collect::<HashSet<_>>(),
        before.keys().cloned().collect::<HashSet<_>>(),
        "a claim skipped"
    );
    let (runs, status, payments_total): (i64, String, i32) = sqlx::query_as(
        "SELECT (SELECT count(*) FROM claimdesk.payment_run), status, payments FROM claimdesk.payment_run LIMIT 1",
    )
    .fetch_one(&db.owner)
    .await
    .unwrap();
    assert_eq!((runs, status.as_str()), (1, "complete"));
    assert_eq!(
        payments_total as i64,
        committed + resumed.payments.len() as i64
    );
    // The advice whose file was lost is still on central, to be written again.
    let run_id: Uuid = sqlx::query_scalar("SELECT id FROM claimdesk.payment_run")
        .fetch_one(&db.owner)
        .await
        .unwrap();
    let mut conn = db.owner.acquire().await.unwrap();
    let traces = payments::traces(&mut conn, run_id).await.unwrap();
    let stored = payments::advices(&mut conn, &traces).await.unwrap();
    assert_eq!(stored.len(), payments_total as usize);
    assert!(stored
        .iter()
        .all(|(_, t)| t.starts_with("ISA*") && t.trim_end().ends_with('~')));
    drop(conn);
    db.cleanup().await;
}
