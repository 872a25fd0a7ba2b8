//! The demo data generator: deterministic, and covering what the issue asks.

mod common;

use chrono::{TimeZone, Utc};
use claimdesk_core::fieldcrypt::{self, FieldKeys};
use claimdesk_core::seed::{self, SeedError, SeedOptions};
use common::TestDb;

fn options(claims: u64, seed: u64) -> SeedOptions {
    SeedOptions {
        claims,
        seed,
        providers: 60,
        now: Utc.with_ymd_and_hms(2026, 11, 21, 23, 59, 59).unwrap(),
    }
}

/// A digest of everything the seed decides (not the ciphertext: nonces are random).
async fn digest(db: &TestDb) -> String {
    sqlx::query_scalar(
        "SELECT md5(string_agg(concat_ws('|', c.id, c.claim_number, c.status, c.priority, c.total_billed,
                c.total_paid, c.member_id, c.provider_id, c.service_from), ',' ORDER BY c.id))
              || md5((SELECT string_agg(concat_ws('|', id, first_name, last_name, date_of_birth, ssn_last4), ','
                      ORDER BY id) FROM claimdesk.member))
         FROM claimdesk.claim c",
    )
    .fetch_one(&db.owner)
    .await
    .unwrap()
}

#[tokio::test]
async fn same_seed_same_data_other_seed_other_data() {
    let keys = FieldKeys::generate();
    let mut digests = Vec::new();
    for seed in [7, 7, 8] {
        let db = TestDb::new().await;
        let mut conn = db.owner_connection().await;
        seed::seed(&mut conn, &keys, &options(400, seed), |_, _| {})
            .await
            .unwrap();
        digests.push(digest(&db).await);
        drop(conn);
        db.cleanup().await;
    }
    assert_eq!(digests[0], digests[1]);
    assert_ne!(digests[0], digests[2]);
}

#[tokio::test]
async fn nothing_is_received_or_changed_after_the_seeds_clock() {
    // Early in the day: claims of the day had arrived before 09:00 only
    // (a seed run at night once wrote claims received that evening, which
    // sorted after every real change in their history).
    let db = TestDb::new().await;
    let mut conn = db.owner_connection().await;
    let now = Utc.with_ymd_and_hms(2026, 11, 21, 9, 0, 0).unwrap();
    let opts = SeedOptions {
        now,
        ..options(1_500, 7)
    };
    seed::seed(&mut conn, &FieldKeys::generate(), &opts, |_, _| {})
        .await
        .unwrap();
    let (today, later): (i64, i64) = sqlx::query_as(
        "SELECT count(*) FILTER (WHERE received_at::date = $1::timestamptz::date),
                count(*) FILTER (WHERE received_at > $1)
         FROM claimdesk.claim",
    )
    .bind(now)
    .fetch_one(&mut conn)
    .await
    .unwrap();
    assert!(today > 0, "some claims arrived today");
    assert_eq!(later, 0, "claims received after the clock");
    for (what, sql) in [
        (
            "history",
            "SELECT count(*) FROM claimdesk.claim_status_history WHERE changed_at > $1",
        ),
        (
            "documents",
            "SELECT count(*) FROM claimdesk.document WHERE uploaded_at > $1",
        ),
        (
            "decisions",
            "SELECT count(*) FROM claimdesk.claim WHERE adjudicated_at > $1",
        ),
    ] {
        let n: i64 = sqlx::query_scalar(sql)
            .bind(now)
            .fetch_one(&mut conn)
            .await
            .unwrap();
        assert_eq!(n, 0, "{what} after the clock");
    }
    drop(conn);
    db.cleanup().await;
}

#[tokio::test]
async fn covers_every_status_priority_and_edge_case() {
    let db = TestDb::new().await;
    let keys = FieldKeys::generate();
    let mut conn = db.owner_connection().await;
    // A payer whose state sets 45 days for its exchange plans.
    sqlx::query(
        "UPDATE claimdesk.prompt_pay_rule SET days = 45 WHERE line_of_business = 'exchange'",
    )
    .execute(&mut conn)
    .await
    .unwrap();
    let report = seed::seed(&mut conn, &keys, &options(3000, 1), |_, _| {})
        .await
        .unwrap();
    assert_eq!(report.claims, 3000);
    assert!(report.lines >= 3000 && report.appeals > 0, "{report:?}");

    let count = |sql: &'static str| {
        let pool = db.owner.clone();
        async move {
            let n: i64 = sqlx::query_scalar(sql).fetch_one(&pool).await.unwrap();
            n
        }
    };
    assert_eq!(
        count("SELECT count(DISTINCT status) FROM claimdesk.claim").await,
        9
    );
    assert_eq!(
        count("SELECT count(DISTINCT priority) FROM claimdesk.claim").await,
        4
    );
    assert_eq!(
        count(
            "SELECT max(n) FROM (SELECT count(*) n FROM claimdesk.claim_line GROUP BY claim_id) s"
        )
        .await,
        8
    );
    assert_eq!(
        count(
            "SELECT min(n) FROM (SELECT count(*) n FROM claimdesk.claim_line GROUP BY claim_id) s"
        )
        .await,
        1
    );
    let checks = [
        ("exact duplicates", "SELECT count(*) FROM claimdesk.claim c JOIN claimdesk.claim o ON o.id = c.suspected_duplicate_of
            WHERE c.total_billed = o.total_billed"),
        ("near duplicates", "SELECT count(*) FROM claimdesk.claim c JOIN claimdesk.claim o ON o.id = c.suspected_duplicate_of
            WHERE c.total_billed <> o.total_billed"),
        ("late filings", "SELECT count(*) FROM claimdesk.claim WHERE service_from < received_at::date - 365"),
        ("NCCI pairs", "SELECT count(DISTINCT a.claim_id) FROM claimdesk.claim_line a JOIN claimdesk.claim_line b
            ON a.claim_id = b.claim_id JOIN claimdesk.ncci_ptp p ON p.column1_code = a.cpt_code AND p.column2_code = b.cpt_code"),
        ("excluded providers", "SELECT count(*) FROM claimdesk.provider WHERE excluded"),
        ("expired credentials", "SELECT count(*) FROM claimdesk.provider_credential WHERE status = 'expired'"),
        ("pending credentials", "SELECT count(*) FROM claimdesk.provider_credential WHERE status = 'pending'"),
        ("dependents", "SELECT count(*) FROM claimdesk.member WHERE relationship <> 'self'"),
        ("terminated coverage", "SELECT count(*) FROM claimdesk.coverage_period WHERE status = 'terminated'"),
        ("coverage gaps", "SELECT count(*) FROM (SELECT member_id FROM claimdesk.coverage_period GROUP BY member_id HAVING count(*) > 1) s"),
        ("fee schedules", "SELECT count(*) FROM claimdesk.fee_schedule"),
        ("risk flags", "SELECT count(*) FROM claimdesk.claim WHERE risk_severity IS NOT NULL"),
        ("status history", "SELECT count(*) FROM claimdesk.claim_status_history"),
    ];
    for (what, sql) in checks {
        let n: i64 = sqlx::query_scalar(sql).fetch_one(&db.owner).await.unwrap();
        assert!(n > 0, "the seed has no {what}");
    }
    // Real files: every MIME type, multi-page PDFs with text, a multi-page
    // TIFF, content addressed by its SHA-256 (the table checks the hash).
    let docs: Vec<(String, String, i32, i64, bool)> = sqlx::query_as(
        "SELECT d.document_type, d.mime_type, d.page_count, d.size_bytes, length(coalesce(d.ocr_text, '')) > 20
         FROM claimdesk.document d JOIN claimdesk.document_content c ON c.sha256 = d.sha256
         WHERE c.size_bytes = d.size_bytes",
    )
    .fetch_all(&db.owner)
    .await
    .unwrap();
    assert_eq!(docs.len() as u64, report.documents);
    for (kind, mime, pages) in [
        ("cms1500", "application/pdf", 2),
        ("eob", "application/pdf", 1),
        ("medical_record", "image/tiff", 3),
        ("other", "image/jpeg", 1),
    ] {
        assert!(
            docs.iter()
                .any(|d| d.0 == kind && d.1 == mime && d.2 == pages && d.4),
            "no {kind} {mime} with {pages} pages and text"
        );
    }
    let pdf: Vec<u8> = sqlx::query_scalar(
        "SELECT c.content FROM claimdesk.document d JOIN claimdesk.document_content c USING (sha256)
         WHERE d.mime_type = 'application/pdf' LIMIT 1",
    )
    .fetch_one(&db.owner)
    .await
    .unwrap();
    assert!(pdf.starts_with(b"%PDF-1.4"));
    // NPIs are valid (the table's constraint would refuse them otherwise),
    // SSNs exist only as ciphertext that opens to the stored last four.
    let rows: Vec<(uuid::Uuid, Vec<u8>, i32, String)> = sqlx::query_as(
        "SELECT id, ssn_ciphertext, ssn_key_version, ssn_last4 FROM claimdesk.member LIMIT 50",
    )
    .fetch_all(&db.owner)
    .await
    .unwrap();
    for (id, blob, version, last4) in &rows {
        let ssn = keys.open("member", "ssn", *id, *version, blob).unwrap();
        assert!(ssn.expose().starts_with('9') && ssn.expose().ends_with(last4.as_str()));
    }
    // Due dates follow the prompt-pay rule of each claim's line of business.
    let (off_rule, exchange): (i64, i64) = sqlx::query_as(
        "SELECT count(*) FILTER (WHERE c.prompt_pay_due <> claimdesk.prompt_pay_due_for(c.policy_id, c.received_at::date)),
                count(*) FILTER (WHERE c.prompt_pay_due = c.received_at::date + 45)
         FROM claimdesk.claim c",
    )
    .fetch_one(&db.owner)
    .await
    .unwrap();
    assert_eq!(off_rule, 0, "every due date follows its prompt-pay rule");
    assert!(exchange > 0, "the 45-day exchange rule was used");
    // Every open claim is in the work queue, and nothing else is.
    let (open, queued): (i64, i64) = sqlx::query_as(
        "SELECT (SELECT count(*) FROM claimdesk.claim WHERE status IN ('received', 'in_review', 'appealed', 'pended')),
                (SELECT count(*) FROM claimdesk.queue_entry q JOIN claimdesk.claim c ON c.id = q.claim_id
                 WHERE c.status IN ('received', 'in_review', 'appealed', 'pended'))",
    )
    .fetch_one(&db.owner)
    .await
    .unwrap();
    assert!(open > 0);
    assert_eq!(queued, open);
    // Accumulators stay within their plan's limits, per member and per family.
    assert_eq!(
        count(
            "SELECT count(*) FROM claimdesk.accumulator a
             JOIN claimdesk.policy po ON po.id = a.policy_id JOIN claimdesk.plan p ON p.id = po.plan_id
             WHERE a.deductible_met > p.deductible_individual OR a.oop_met > p.oop_max_individual
                OR a.oop_met < a.deductible_met"
        )
        .await,
        0
    );
    assert_eq!(
        count(
            "SELECT count(*) FROM (
               SELECT sum(a.deductible_met) AS ded, sum(a.oop_met) AS oop, max(p.deductible_family) AS ded_max,
                      max(p.oop_max_family) AS oop_max
               FROM claimdesk.accumulator a
               JOIN claimdesk.policy po ON po.id = a.policy_id JOIN claimdesk.plan p ON p.id = po.plan_id
               GROUP BY a.policy_id, a.plan_year) f
             WHERE f.ded > f.ded_max OR f.oop > f.oop_max"
        )
        .await,
        0
    );
    // The audit chain stays intact, with one event for the seed itself.
    let chain = claimdesk_core::audit::verify(&mut conn).await.unwrap();
    assert_eq!(chain.first_break, None);
    // A second seed is refused rather than mixed in.
    assert!(matches!(
        seed::seed(&mut conn, &keys, &options(10, 1), |_, _| {}).await,
        Err(SeedError::NotEmpty(3000))
    ));
    drop(conn);
    db.cleanup().await;
}

#[tokio::test]
async fn key_rotation_re_encrypts_every_identifier() {
    let db = TestDb::new().await;
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("keys.json");
    let mut keys = FieldKeys::generate();
    keys.save(&path).unwrap();
    let mut conn = db.owner_connection().await;
    seed::seed(&mut conn, &keys, &options(200, 3), |_, _| {})
        .await
        .unwrap();
    let before: Vec<(uuid::Uuid, Vec<u8>)> =
        sqlx::query_as("SELECT id, ssn_ciphertext FROM claimdesk.member ORDER BY id")
            .fetch_all(&db.owner)
            .await
            .unwrap();

    keys.add_version();
    let moved = fieldcrypt::rotate(&mut conn, &keys, 37).await.unwrap();
    let expected: i64 = sqlx::query_scalar(
        "SELECT (SELECT count(*) FROM claimdesk.member) + (SELECT count(*) FROM claimdesk.provider)
              + (SELECT count(*) FROM claimdesk.employer_group)",
    )
    .fetch_one(&db.owner)
    .await
    .unwrap();
    assert_eq!(moved as i64, expected);
    let after: Vec<(uuid::Uuid, Vec<u8>, i32, String)> = sqlx::query_as(
        "SELECT id, ssn_ciphertext, ssn_key_version, ssn_last4 FROM claimdesk.member ORDER BY id",
    )
    .fetch_all(&db.owner)
    .await
    .unwrap();
    for ((id, old), (_, new, version, last4)) in before.iter().zip(&after) {
        assert_eq!(*version, 2);
        assert_ne!(old, new);
        assert!(keys
            .open("member", "ssn", *id, 2, new)
            .unwrap()
            .expose()
            .ends_with(last4.as_str()));
    }
    // Nothing left under the old key; a second run moves nothing.
    assert_eq!(fieldcrypt::rotate(&mut conn, &keys, 37).await.unwrap(), 0);
    // The audit trail saw the rotation, without any ciphertext in it.
    let leaked: i64 = sqlx::query_scalar(
        "SELECT count(*) FROM claimdesk.audit_log WHERE old_values ? 'ssn_ciphertext' OR new_values ? 'ssn_ciphertext'",
    )
    .fetch_one(&db.owner)
    .await
    .unwrap();
    assert_eq!(leaked, 0);
    drop(conn);
    db.cleanup().await;
}
