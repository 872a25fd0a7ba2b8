//! X12 837 intake into central (issue 20), against real PostgreSQL: the
//! claims a file brings are written with their lines, diagnoses and dates,
//! answered by 999 and 277CA; replacements and voids; the same interchange
//! twice; a rejected set leaves nothing; an interrupted run resumes.

// Rows read back as tuples, one column each, to compare with the file.
#![allow(clippy::type_complexity)]

mod common;

use std::path::{Path, PathBuf};

use chrono::{NaiveDate, TimeZone, Utc};
use claimdesk_core::intake::{self, IntakeOptions, IntakeReport, InterchangeOutcome};
use claimdesk_core::x12::model::ClaimKind;
use claimdesk_core::x12::write837::ClaimSpec;
use common::x12::{claim, day, dec, file, line};
use common::{fixture, Fixture, TestDb};
use rust_decimal::Decimal;
use sqlx::PgPool;

fn options() -> IntakeOptions {
    IntakeOptions {
        now: Utc.with_ymd_and_hms(2025, 3, 10, 14, 0, 0).unwrap(),
        ..IntakeOptions::default()
    }
}

async fn member_number(pool: &PgPool, id: uuid::Uuid) -> String {
    sqlx::query_scalar("SELECT member_number FROM claimdesk.member WHERE id = $1")
        .bind(id)
        .fetch_one(pool)
        .await
        .unwrap()
}

async fn run(pool: &PgPool, path: &Path) -> IntakeReport {
    intake::intake_file(pool, path, &options(), |_, _| {})
        .await
        .unwrap()
}

fn ack<'r>(r: &'r IntakeReport, kind: &str) -> &'r str {
    r.acks
        .iter()
        .find(|(k, _)| k == kind)
        .map(|(_, b)| b.as_str())
        .unwrap_or_else(|| panic!("no {kind} in {:?}", r.acks))
}

async fn count(pool: &PgPool, sql: &str) -> i64 {
    sqlx::query_scalar(sql).fetch_one(pool).await.unwrap()
}

async fn setup() -> (TestDb, Fixture, String, String, tempfile::TempDir) {
    let db = TestDb::new().await;
    let f = fixture(&db.owner).await;
    let subscriber = member_number(&db.owner, f.subscriber).await;
    let child = member_number(&db.owner, f.child).await;
    (db, f, subscriber, child, tempfile::tempdir().unwrap())
}

#[tokio::test]
async fn an_accepted_837p_becomes_claims_equal_to_the_file() {
    let (db, f, subscriber, child, dir) = setup().await;
    let mut second = claim(
        "ACCT-2",
        &child,
        vec![line("99214", "180.00", "2025-02-12")],
    );
    second.last_name = "TESTPERSON".into();
    second.first_name = "TIM".into();
    second.diagnoses = vec!["J069".into()];
    second.attachments = vec!["OZ".into()];
    let mut first = claim(
        "ACCT-1",
        &subscriber,
        vec![
            line("99213", "125.50", "2025-02-10"),
            line("99214", "74.50", "2025-02-11"),
        ],
    );
    first.lines[1].modifiers = vec!["25".into()];
    let path = file(
        dir.path(),
        "in.837",
        101,
        ClaimKind::Professional,
        &[first, second],
    );
    let r = run(&db.owner, &path).await;
    assert_eq!(
        (
            r.sets_received,
            r.sets_accepted,
            r.claims_accepted,
            r.claims_rejected
        ),
        (1, 1, 2, 0),
        "{r:?}"
    );
    assert_eq!(r.amount_accepted, dec("380.00"));
    let a999 = ack(&r, "999");
    assert!(
        a999.contains("AK2*837*0001*005010X222A1~\nIK5*A~"),
        "{a999}"
    );
    assert!(a999.contains("AK9*A*1*1*1~"), "{a999}");
    let a277 = ack(&r, "277CA");
    assert_eq!(a277.matches("STC*A2:20:PR").count(), 2, "{a277}");
    assert!(
        a277.contains("QTY*90*2~") && a277.contains("AMT*YU*380.00~"),
        "{a277}"
    );

    // The claims as the file says, numbered, in the queue, with history.
    let rows: Vec<(String, String, NaiveDate, NaiveDate, Decimal, String, String, serde_json::Value)> = sqlx::query_as(
        "SELECT c.claim_number, c.patient_account_number, c.service_from, c.service_to, c.total_billed,
                c.status, m.member_number, c.attachments_expected
         FROM claimdesk.claim c JOIN claimdesk.member m ON m.id = c.member_id
         WHERE c.intake_set_id IS NOT NULL ORDER BY c.patient_account_number",
    )
    .fetch_all(&db.owner)
    .await
    .unwrap();
    assert_eq!(rows.len(), 2);
    assert_eq!(rows[0].1, "ACCT-1");
    assert_eq!(
        (rows[0].2, rows[0].3),
        (day("2025-02-10"), day("2025-02-11"))
    );
    assert_eq!(rows[0].4, dec("200.00"));
    assert_eq!(
        (rows[0].5.as_str(), rows[0].6.as_str()),
        ("received", subscriber.as_str())
    );
    assert_eq!(rows[1].6, child, "the dependent's own member id");
    assert_eq!(rows[1].7[0]["report_type"], "OZ");
    for (number, ..) in &rows {
        assert!(
            a277.contains(&format!("REF*1K*{number}~")),
            "{number} in {a277}"
        );
    }
    let lines: Vec<(i16, NaiveDate, String, Vec<String>, Vec<i16>, Decimal, Option<String>)> = sqlx::query_as(
        "SELECT l.line_number, l.service_date, l.cpt_code, l.modifiers, l.diagnosis_pointers, l.billed, l.place_of_service
         FROM claimdesk.claim_line l JOIN claimdesk.claim c ON c.id = l.claim_id
         WHERE c.patient_account_number = 'ACCT-1' ORDER BY l.line_number",
    )
    .fetch_all(&db.owner)
    .await
    .unwrap();
    assert_eq!(lines.len(), 2);
    assert_eq!(
        lines[0],
        (
            1,
            day("2025-02-10"),
            "99213".into(),
            vec![],
            vec![1],
            dec("125.50"),
            Some("11".into())
        )
    );
    assert_eq!(lines[1].3, vec!["25".to_string()]);
    let dx: Vec<String> = sqlx::query_scalar(
        "SELECT d.icd10_code FROM claimdesk.claim_diagnosis d JOIN claimdesk.claim c ON c.id = d.claim_id
         WHERE c.patient_account_number = 'ACCT-1' ORDER BY d.sequence",
    )
    .fetch_all(&db.owner)
    .await
    .unwrap();
    assert_eq!(dx, vec!["J06.9".to_string()]);
    assert_eq!(
        count(&db.owner, "SELECT count(*) FROM claimdesk.queue_entry q JOIN claimdesk.claim c ON c.id = q.claim_id WHERE c.intake_set_id IS NOT NULL").await,
        2
    );
    let history: String = sqlx::query_scalar(
        "SELECT h.reason FROM claimdesk.claim_status_history h JOIN claimdesk.claim c ON c.id = h.claim_id
         WHERE c.patient_account_number = 'ACCT-1'",
    )
    .fetch_one(&db.owner)
    .await
    .unwrap();
    assert_eq!(history, "Received by X12 837");
    let (billing, provider): (Option<uuid::Uuid>, uuid::Uuid) = sqlx::query_as(
        "SELECT billing_provider_id, provider_id FROM claimdesk.claim WHERE patient_account_number = 'ACCT-1'",
    )
    .fetch_one(&db.owner)
    .await
    .unwrap();
    assert_eq!((billing, provider), (Some(f.provider), f.provider));
    // One audit event for the set, naming its claims, instead of one a row.
    let (events, named): (i64, i64) = sqlx::query_as(
        "SELECT count(*), coalesce(max(jsonb_array_length(new_values -> 'claims')), 0)::int8 FROM claimdesk.audit_log
         WHERE action = 'intake' AND resource_type = 'intake_set'",
    )
    .fetch_one(&db.owner)
    .await
    .unwrap();
    assert_eq!((events, named), (1, 2));
    assert_eq!(
        count(&db.owner, "SELECT count(*) FROM claimdesk.audit_log a JOIN claimdesk.claim c ON a.resource_id = c.id::text WHERE a.action = 'insert' AND c.intake_set_id IS NOT NULL").await,
        0
    );
    db.cleanup().await;
}

#[tokio::test]
async fn claims_that_cannot_be_taken_are_rejected_one_by_one_in_the_277ca() {
    let (db, _f, subscriber, child, dir) = setup().await;
    let ok = claim(
        "OK-1",
        &subscriber,
        vec![line("99213", "100.00", "2025-02-10")],
    );
    let unknown_member = claim(
        "NOMEMBER",
        "NOSUCH123",
        vec![line("99213", "100.00", "2025-02-10")],
    );
    let mut bad_npi = claim(
        "BADNPI",
        &subscriber,
        vec![line("99213", "101.00", "2025-02-10")],
    );
    bad_npi.billing_npi = "1234567890".into();
    let mut unknown_npi = claim(
        "UNKNOWNNPI",
        &subscriber,
        vec![line("99213", "102.00", "2025-02-10")],
    );
    unknown_npi.billing_npi = "1245319599".into();
    // The child's coverage has a gap from July to August 2024.
    let mut not_covered = claim("GAP", &child, vec![line("99213", "103.00", "2024-07-15")]);
    not_covered.first_name = "TIM".into();
    let unknown_cpt = claim(
        "NOCPT",
        &subscriber,
        vec![line("99499", "104.00", "2025-02-10")],
    );
    let mut unbalanced = claim(
        "UNBAL",
        &subscriber,
        vec![line("99213", "105.00", "2025-02-10")],
    );
    unbalanced.total = Some(dec("105.01"));
    let mut replaces_nothing = claim(
        "REPL",
        &subscriber,
        vec![line("99213", "106.00", "2025-02-10")],
    );
    replaces_nothing.frequency = "7".into();
    replaces_nothing.original = Some("CLM-20250101-999999".into());
    let claims = [
        ok,
        unknown_member,
        bad_npi,
        unknown_npi,
        not_covered,
        unknown_cpt,
        unbalanced,
        replaces_nothing,
    ];
    let path = file(
        dir.path(),
        "mixed.837",
        102,
        ClaimKind::Professional,
        &claims,
    );
    let r = run(&db.owner, &path).await;
    assert_eq!((r.claims_accepted, r.claims_rejected), (1, 7), "{r:?}");
    let a277 = ack(&r, "277CA");
    for stc in [
        "A7:164:IL",
        "A7:562:85",
        "A3:562:85",
        "A3:109:IL",
        "A7:454",
        "A7:400",
        "A7:464",
    ] {
        assert!(
            a277.contains(&format!("STC*{stc}*20250310*U*")),
            "{stc} missing in\n{a277}"
        );
    }
    let reasons: Vec<(String, String)> = sqlx::query_as(
        "SELECT c.patient_account, c.reason FROM claimdesk.intake_claim c
         JOIN claimdesk.intake_set s ON s.id = c.set_id ORDER BY s.set_ordinal, c.ordinal",
    )
    .fetch_all(&db.owner)
    .await
    .unwrap();
    let reasons: Vec<(&str, &str)> = reasons
        .iter()
        .map(|(a, b)| (a.as_str(), b.as_str()))
        .collect();
    assert_eq!(
        reasons,
        // The batch view keeps the rejected; the claim taken is the claim.
        [
            ("NOMEMBER", "member_not_found"),
            ("BADNPI", "npi_invalid"),
            ("UNKNOWNNPI", "npi_unknown"),
            ("GAP", "not_eligible"),
            ("NOCPT", "procedure_unknown"),
            ("UNBAL", "claim_out_of_balance"),
            ("REPL", "original_unknown"),
        ]
    );
    assert_eq!(
        count(
            &db.owner,
            "SELECT count(*) FROM claimdesk.claim WHERE intake_set_id IS NOT NULL AND patient_account_number = 'OK-1'"
        )
        .await,
        1
    );
    assert_eq!(
        count(
            &db.owner,
            "SELECT count(*) FROM claimdesk.claim WHERE intake_set_id IS NOT NULL"
        )
        .await,
        1
    );
    db.cleanup().await;
}

#[tokio::test]
async fn a_replacement_supersedes_its_original_and_a_void_ends_one() {
    let (db, _f, subscriber, _child, dir) = setup().await;
    let first = [
        claim(
            "R-1",
            &subscriber,
            vec![line("99213", "100.00", "2025-02-10")],
        ),
        claim(
            "V-1",
            &subscriber,
            vec![line("99214", "150.00", "2025-02-11")],
        ),
    ];
    run(
        &db.owner,
        &file(dir.path(), "a.837", 201, ClaimKind::Professional, &first),
    )
    .await;
    let number = |acct: &'static str| {
        let pool = db.owner.clone();
        async move {
            sqlx::query_scalar::<_, String>(
                "SELECT claim_number FROM claimdesk.claim WHERE patient_account_number = $1 AND frequency_code = '1'",
            )
            .bind(acct)
            .fetch_one(&pool)
            .await
            .unwrap()
        }
    };
    let (r1, v1) = (number("R-1").await, number("V-1").await);
    let mut replacement = claim(
        "R-1",
        &subscriber,
        vec![line("99213", "120.00", "2025-02-10")],
    );
    replacement.frequency = "7".into();
    replacement.original = Some(r1.clone());
    let mut void = claim(
        "V-1",
        &subscriber,
        vec![line("99214", "150.00", "2025-02-11")],
    );
    void.frequency = "8".into();
    void.original = Some(v1.clone());
    let r = run(
        &db.owner,
        &file(
            dir.path(),
            "b.837",
            202,
            ClaimKind::Professional,
            &[replacement, void],
        ),
    )
    .await;
    assert_eq!(r.claims_accepted, 2, "{r:?}");
    let rows: Vec<(String, String, Option<String>, Option<String>)> = sqlx::query_as(
        "SELECT c.claim_number, c.status, o.claim_number, n.claim_number
         FROM claimdesk.claim c LEFT JOIN claimdesk.claim o ON o.id = c.replaces_claim_id
         LEFT JOIN claimdesk.claim n ON n.id = c.replaced_by_claim_id ORDER BY c.claim_number",
    )
    .fetch_all(&db.owner)
    .await
    .unwrap();
    let get = |n: &str| rows.iter().find(|r| r.0 == n).unwrap().clone();
    let original = get(&r1);
    assert_eq!(original.1, "void", "the replaced claim leaves the queue");
    let new = get(original.3.as_deref().unwrap());
    assert_eq!(
        (new.1.as_str(), new.2.as_deref()),
        ("received", Some(r1.as_str()))
    );
    let voided = get(&v1);
    assert_eq!(voided.1, "void");
    let void_record = get(voided.3.as_deref().unwrap());
    assert_eq!(
        (void_record.1.as_str(), void_record.2.as_deref()),
        ("void", Some(v1.as_str()))
    );
    let reason: String = sqlx::query_scalar(
        "SELECT h.reason FROM claimdesk.claim_status_history h JOIN claimdesk.claim c ON c.id = h.claim_id
         WHERE c.claim_number = $1 AND h.to_status = 'void'",
    )
    .bind(&r1)
    .fetch_one(&db.owner)
    .await
    .unwrap();
    assert_eq!(reason, format!("Replaced by {}", new.0));
    // Voiding it again: the original is void already.
    let mut again = claim(
        "V-1",
        &subscriber,
        vec![line("99214", "150.00", "2025-02-11")],
    );
    again.frequency = "8".into();
    again.original = Some(v1.clone());
    let r = run(
        &db.owner,
        &file(dir.path(), "c.837", 203, ClaimKind::Professional, &[again]),
    )
    .await;
    assert_eq!((r.claims_accepted, r.claims_rejected), (0, 1));
    db.cleanup().await;
}

#[tokio::test]
async fn the_same_interchange_twice_creates_nothing_new_and_says_so() {
    let (db, _f, subscriber, _child, dir) = setup().await;
    let claims = [claim(
        "D-1",
        &subscriber,
        vec![line("99213", "100.00", "2025-02-10")],
    )];
    let path = file(
        dir.path(),
        "once.837",
        301,
        ClaimKind::Professional,
        &claims,
    );
    let first = run(&db.owner, &path).await;
    assert_eq!(first.claims_accepted, 1);
    let claims_before = count(&db.owner, "SELECT count(*) FROM claimdesk.claim").await;
    let again = run(&db.owner, &path).await;
    assert_eq!(
        again.already_imported.map(|a| a.0),
        first.batch_id,
        "the same file: already imported"
    );
    // The same interchange in other bytes (line endings changed).
    let text = std::fs::read_to_string(&path)
        .unwrap()
        .replace("~\n", "~\r\n");
    let other = dir.path().join("resent.837");
    std::fs::write(&other, text).unwrap();
    let resent = run(&db.owner, &other).await;
    assert!(
        matches!(resent.interchanges[0].outcome, InterchangeOutcome::Duplicate { ref first_file, .. } if first_file == "once.837")
    );
    let ta1 = ack(&resent, "TA1");
    assert!(
        ta1.contains("TA1*000000301*") && ta1.contains("*R*025~"),
        "{ta1}"
    );
    assert_eq!(
        count(&db.owner, "SELECT count(*) FROM claimdesk.claim").await,
        claims_before
    );
    db.cleanup().await;
}

#[tokio::test]
async fn a_rejected_set_leaves_nothing_behind_and_the_others_stand() {
    let (db, _f, subscriber, _child, dir) = setup().await;
    let claims = [
        claim(
            "S1-A",
            &subscriber,
            vec![line("99213", "100.00", "2025-02-10")],
        ),
        claim(
            "S1-B",
            &subscriber,
            vec![line("99213", "110.00", "2025-02-10")],
        ),
        claim(
            "S2-A",
            &subscriber,
            vec![line("99213", "120.00", "2025-02-10")],
        ),
    ];
    let path = file(
        dir.path(),
        "two-sets.837",
        401,
        ClaimKind::Professional,
        &claims,
    );
    // Break the second set's date of service.
    let text = std::fs::read_to_string(&path).unwrap();
    let cut = text.find("ST*837*0002").unwrap();
    let (head, tail) = text.split_at(cut);
    let tail = tail.replacen("DTP*472*D8*20250210", "DTP*472*D8*20250231", 1);
    std::fs::write(&path, format!("{head}{tail}")).unwrap();
    let r = run(&db.owner, &path).await;
    assert_eq!(
        (r.sets_received, r.sets_accepted, r.claims_accepted),
        (2, 1, 2),
        "{r:?}"
    );
    let a999 = ack(&r, "999");
    assert!(
        a999.contains("AK2*837*0002*005010X222A1~\nIK3*DTP*"),
        "{a999}"
    );
    assert!(
        a999.contains("*2400*8~\nCTX*CLM01:S2-A~\nIK4*3**8*20250231~\nIK5*R*5~"),
        "{a999}"
    );
    assert!(a999.contains("AK9*P*2*2*1~"), "{a999}");
    assert_eq!(
        count(
            &db.owner,
            "SELECT count(*) FROM claimdesk.claim WHERE patient_account_number LIKE 'S2%'"
        )
        .await,
        0
    );
    assert_eq!(
        count(
            &db.owner,
            "SELECT count(*) FROM claimdesk.claim WHERE patient_account_number LIKE 'S1%'"
        )
        .await,
        2
    );
    db.cleanup().await;
}

#[tokio::test]
async fn an_interrupted_run_resumes_without_duplicates() {
    let (db, _f, subscriber, _child, dir) = setup().await;
    let claims: Vec<ClaimSpec> = (0..6)
        .map(|i| {
            claim(
                &format!("K-{i}"),
                &subscriber,
                vec![line("99213", &format!("{}.00", 100 + i), "2025-02-10")],
            )
        })
        .collect();
    let path = file(dir.path(), "six.837", 501, ClaimKind::Professional, &claims);
    let full = run(&db.owner, &path).await;
    assert_eq!(full.claims_accepted, 6);
    let a277_full = ack(&full, "277CA").to_string();
    // As if killed after the first set was committed: the later sets' rows
    // and claims undone, the interchange and batch left receiving.
    sqlx::raw_sql(
        "DELETE FROM claimdesk.intake_ack;
         UPDATE claimdesk.claim SET intake_set_id = NULL WHERE patient_account_number IN ('K-2', 'K-3', 'K-4', 'K-5');
         DELETE FROM claimdesk.intake_set WHERE set_ordinal > 1;
         DELETE FROM claimdesk.claim WHERE patient_account_number IN ('K-2', 'K-3', 'K-4', 'K-5');
         UPDATE claimdesk.intake_interchange SET status = 'receiving';
         UPDATE claimdesk.intake_batch SET status = 'receiving', completed_at = NULL;",
    )
    .execute(&db.owner)
    .await
    .unwrap();
    let resumed = run(&db.owner, &path).await;
    assert_eq!(resumed.batch_id, full.batch_id);
    assert_eq!(resumed.interchanges[0].outcome, InterchangeOutcome::Resumed);
    assert_eq!(resumed.claims_accepted, 4, "only the sets not yet written");
    assert_eq!(
        count(
            &db.owner,
            "SELECT count(*) FROM claimdesk.claim WHERE patient_account_number LIKE 'K-%'"
        )
        .await,
        6
    );
    // The answer covers the whole file, first set included.
    let a277 = ack(&resumed, "277CA");
    assert_eq!(
        a277.matches("STC*A2:20:PR").count(),
        a277_full.matches("STC*A2:20:PR").count()
    );
    db.cleanup().await;
}

#[tokio::test]
async fn an_837i_round_trips_with_revenue_codes_and_statement_dates() {
    let (db, _f, subscriber, _child, dir) = setup().await;
    let mut c = claim(
        "INST-1",
        &subscriber,
        vec![
            line("99213", "300.00", "2025-02-03"),
            line("99214", "200.00", "2025-02-05"),
        ],
    );
    c.facility = "13".into();
    c.lines[0].revenue_code = Some("0510".into());
    c.lines[1].revenue_code = Some("0450".into());
    let path = file(dir.path(), "inst.837", 601, ClaimKind::Institutional, &[c]);
    let r = run(&db.owner, &path).await;
    assert_eq!(r.claims_accepted, 1, "{r:?} {:?}", r.acks);
    assert!(ack(&r, "999").contains("AK2*837*0001*005010X223A2"));
    let (ty, pos, fac, from, to): (String, Option<String>, Option<String>, NaiveDate, NaiveDate) = sqlx::query_as(
        "SELECT claim_type, place_of_service, facility_type_code, service_from, service_to FROM claimdesk.claim
         WHERE patient_account_number = 'INST-1'",
    )
    .fetch_one(&db.owner)
    .await
    .unwrap();
    assert_eq!(
        (ty.as_str(), pos.as_deref(), fac.as_deref()),
        ("institutional", Some("22"), Some("13"))
    );
    assert_eq!((from, to), (day("2025-02-03"), day("2025-02-05")));
    let revs: Vec<Option<String>> = sqlx::query_scalar(
        "SELECT l.revenue_code FROM claimdesk.claim_line l JOIN claimdesk.claim c ON c.id = l.claim_id
         WHERE c.patient_account_number = 'INST-1' ORDER BY l.line_number",
    )
    .fetch_all(&db.owner)
    .await
    .unwrap();
    assert_eq!(
        revs,
        vec![Some("0510".to_string()), Some("0450".to_string())]
    );
    db.cleanup().await;
}

fn fixture_path(name: &str) -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("../../../shared/fixtures/x12-837")
        .join(name)
}

#[tokio::test]
async fn every_shared_fixture_is_answered_and_none_writes_a_claim() {
    let db = TestDb::new().await;
    fixture(&db.owner).await;
    let before = count(&db.owner, "SELECT count(*) FROM claimdesk.claim").await;
    let mut names: Vec<String> = std::fs::read_dir(fixture_path(""))
        .unwrap()
        .map(|e| e.unwrap().file_name().into_string().unwrap())
        .filter(|n| n.ends_with(".txt"))
        .collect();
    names.sort();
    for n in &names {
        let r = run(&db.owner, &fixture_path(n)).await;
        assert_eq!(r.claims_accepted, 0, "{n}");
        match n.as_str() {
            "x12_no_isa_line.txt" => {
                assert!(r.acks.is_empty(), "nothing to answer to");
                assert!(
                    r.problem.as_deref().is_some_and(|p| p.contains("ISA")),
                    "{n}: {:?}",
                    r.problem
                );
            }
            "x12_bad_first_line.txt" => assert!(ack(&r, "TA1").contains("*R*011~"), "{n}"),
            _ => assert!(
                r.acks
                    .iter()
                    .any(|(k, b)| k == "999" && b.contains("IK5*R")),
                "{n}: {:?}",
                r.acks
            ),
        }
        if n == "x12_bad_valid_code.txt" {
            // The fault named with its segment, position, loop and element.
            let body = ack(&r, "999");
            assert!(
                body.contains("IK3*NM1*7*2000A*8~\nIK4*1*98*7*117~"),
                "{body}"
            );
            assert!(body.contains("IK5*R*4*5~"), "{body}");
        }
        // The fixtures share one sender and control number: each is read as
        // new here, so each is answered for what it holds, not as a resend.
        sqlx::query("DELETE FROM claimdesk.intake_interchange")
            .execute(&db.owner)
            .await
            .unwrap();
    }
    let rejected: String = sqlx::query_scalar(
        "SELECT status FROM claimdesk.intake_batch WHERE file_name = 'x12_no_isa_line.txt'",
    )
    .fetch_one(&db.owner)
    .await
    .unwrap();
    assert_eq!(rejected, "rejected");
    assert_eq!(
        count(&db.owner, "SELECT count(*) FROM claimdesk.claim").await,
        before
    );
    db.cleanup().await;
}

/// Peak resident memory of this process, in kB.
fn peak_kb() -> u64 {
    std::fs::read_to_string("/proc/self/status")
        .unwrap()
        .lines()
        .find_map(|l| l.strip_prefix("VmHWM:"))
        .and_then(|v| v.trim().trim_end_matches("kB").trim().parse().ok())
        .unwrap()
}

#[tokio::test]
async fn bad_files_get_a_clear_answer_and_lose_nothing() {
    let (db, _f, subscriber, _child, dir) = setup().await;
    let good = file(
        dir.path(),
        "good.837",
        401,
        ClaimKind::Professional,
        &[claim(
            "G-1",
            &subscriber,
            vec![line("99213", "100.00", "2025-02-10")],
        )],
    );
    let first = run(&db.owner, &good).await;
    assert_eq!(first.claims_accepted, 1);
    let claims = "SELECT count(*) FROM claimdesk.claim";
    let before = count(&db.owner, claims).await;

    // Binary garbage: no interchange to answer; the batch says why.
    let garbage = dir.path().join("garbage.837");
    let mut bytes = vec![0u8; 200_000];
    for (i, b) in bytes.iter_mut().enumerate() {
        *b = (i.wrapping_mul(2_654_435_761) >> 13) as u8;
    }
    std::fs::write(&garbage, &bytes).unwrap();
    let r = run(&db.owner, &garbage).await;
    assert!(r.interchanges.is_empty());
    assert!(r.problem.is_some(), "garbage is said to be unreadable");
    let status: (String, Option<String>) =
        sqlx::query_as("SELECT status, problem FROM claimdesk.intake_batch WHERE id = $1")
            .bind(r.batch_id.unwrap())
            .fetch_one(&db.owner)
            .await
            .unwrap();
    assert_eq!(status.0, "rejected");
    assert!(status.1.is_some());

    // Our own 999 sent back as if it were an 837: its set is refused.
    let ack999 = dir.path().join("answer.999");
    std::fs::write(&ack999, ack(&first, "999")).unwrap();
    let r = run(&db.owner, &ack999).await;
    assert_eq!(r.claims_accepted + r.claims_rejected, 0);
    assert_eq!(r.sets_accepted, 0, "a 999 is not a claim set");
    let answer = ack(&r, "999");
    assert!(
        answer.contains("AK2*999*") && answer.contains("IK5*R"),
        "{answer}"
    );

    // A 1 GB file: an interchange header, then a gigabyte of NUL padding
    // (which some transfer tools leave). Read to its end in bounded memory
    // and answered as an interchange cut short.
    let huge = dir.path().join("huge.837");
    let mut header = std::fs::read(&good).unwrap()[..106].to_vec();
    header[90..99].copy_from_slice(b"000000402");
    std::fs::write(&huge, &header).unwrap();
    std::fs::OpenOptions::new()
        .write(true)
        .open(&huge)
        .unwrap()
        .set_len(1 << 30)
        .unwrap();
    let peak = peak_kb();
    let r = run(&db.owner, &huge).await;
    assert!(
        peak_kb() - peak < 64 * 1024,
        "memory grew by {} kB reading 1 GB",
        peak_kb() - peak
    );
    let ta1 = ack(&r, "999");
    assert!(
        ta1.contains("TA1*000000402*") && ta1.contains("*023~"),
        "{ta1}"
    );
    let read: i64 =
        sqlx::query_scalar("SELECT bytes_read FROM claimdesk.intake_batch WHERE id = $1")
            .bind(r.batch_id.unwrap())
            .fetch_one(&db.owner)
            .await
            .unwrap();
    assert_eq!(read, 1 << 30);

    // A segment that never ends: refused at 64 KiB, not read into memory.
    let long = dir.path().join("long.837");
    header[90..99].copy_from_slice(b"000000403");
    let mut text = header.clone();
    text.extend(std::iter::repeat_n(b'A', 300_000));
    std::fs::write(&long, &text).unwrap();
    let r = run(&db.owner, &long).await;
    let problem = r.problem.clone().expect("an overlong segment is a problem");
    assert!(
        problem.contains("without a segment terminator"),
        "{problem}"
    );

    assert_eq!(
        count(&db.owner, claims).await,
        before,
        "nothing lost, nothing added"
    );
    assert_eq!(
        run(&db.owner, &good).await.already_imported.map(|a| a.0),
        first.batch_id
    );
    db.cleanup().await;
}
