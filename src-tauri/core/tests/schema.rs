//! The central schema against a real PostgreSQL, one fresh database per test:
//! permissions, audit chain, change feed, eligibility, NPI, claim numbers and
//! the decision rules.

mod common;

use std::collections::HashSet;

use claimdesk_core::audit::{self, ChainBreak};
use claimdesk_core::central::CentralError;
use claimdesk_core::feed::{self, FeedCursor, SYNCED_TABLES};
use claimdesk_core::settings::CentralSettings;
use claimdesk_core::ErrorCode;
use common::{error_code, fixture, TestDb, ROLES};
use sqlx::{Connection, PgPool};
use uuid::Uuid;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Outcome {
    Allowed,
    Denied,
}
use Outcome::{Allowed as A, Denied as D};

/// Runs `sql` in a transaction that is rolled back, and says whether the
/// server allowed it. Anything but success or a permission error fails the test.
async fn attempt(pool: &PgPool, sql: &str) -> Outcome {
    let mut tx = pool.begin().await.unwrap();
    let result = sqlx::raw_sql(sql).execute(&mut *tx).await;
    tx.rollback().await.unwrap();
    match result {
        Ok(_) => Outcome::Allowed,
        Err(e) => match error_code(e) {
            ErrorCode::PermissionDenied => Outcome::Denied,
            other => panic!("`{sql}` failed with {other:?}, not a permission error"),
        },
    }
}

#[tokio::test]
async fn permission_matrix_every_role_and_operation() {
    let mut db = TestDb::new().await;
    let f = fixture(&db.owner).await;
    let (c, m, cred) = (f.claim, f.subscriber, f.credential);
    let checkout = "SELECT claimdesk.claim_checkout()";
    let import = Uuid::from_u128(0x1e1e);
    let leie = format!(
        "INSERT INTO claimdesk.leie_import (id, file_sha256, entries, new_count, reinstated_count)
         VALUES ('{import}', sha256('x'), 1, 1, 0);
         INSERT INTO claimdesk.leie_entry (import_id, key, name, exclusion_type, exclusion_date)
         VALUES ('{import}', 'k', 'X', '1128a1', '2024-01-01')"
    );
    // (operation, sql, [adjudicator, credentialing, supervisor, admin])
    let matrix: Vec<(&str, String, [Outcome; 4])> = vec![
        ("read member demographics", "SELECT first_name, date_of_birth FROM claimdesk.member".into(), [A, D, A, A]),
        ("read member SSN ciphertext", "SELECT ssn_ciphertext FROM claimdesk.member".into(), [D, D, D, A]),
        ("read claims", "SELECT claim_number FROM claimdesk.claim".into(), [A, D, A, A]),
        ("read claim lines and diagnoses", "SELECT l.billed, d.icd10_code FROM claimdesk.claim_line l, claimdesk.claim_diagnosis d".into(), [A, D, A, A]),
        ("read claim notes", "SELECT body FROM claimdesk.claim_note".into(), [A, D, A, A]),
        ("read document content", "SELECT content FROM claimdesk.document_content".into(), [A, D, A, A]),
        ("read providers", "SELECT npi, last_name FROM claimdesk.provider".into(), [A, A, A, A]),
        ("read provider tax id ciphertext", "SELECT tax_id_ciphertext FROM claimdesk.provider".into(), [D, D, D, A]),
        ("read credentials", "SELECT status FROM claimdesk.provider_credential".into(), [A, A, A, A]),
        ("read fee schedules", "SELECT allowed_amount FROM claimdesk.fee_schedule".into(), [A, A, A, A]),
        ("read reference codes", "SELECT code FROM claimdesk.carc".into(), [A, A, A, A]),
        ("read the audit log", "SELECT * FROM claimdesk.audit_log".into(), [D, D, A, A]),
        ("export the audit trail (recorded)", "SELECT claimdesk.record_audit_export('{}', 0, 'x.csv', NULL)".into(), [D, D, A, A]),
        ("insert into the audit log", "INSERT INTO claimdesk.audit_log VALUES (999999, now(), 'x', 'x', 'x', 'x', NULL, NULL, false, NULL, NULL, '{}', sha256(''), sha256(''))".into(), [D, D, D, A]),
        ("append an audit event directly", "SELECT claimdesk.audit_append('view', 'member', 'x', NULL, true)".into(), [D, D, D, A]),
        ("record a PHI view", format!("SELECT claimdesk.record_phi_view('member', '{m}', '{m}')"), [A, A, A, A]),
        ("check eligibility", format!("SELECT * FROM claimdesk.check_eligibility('{m}', '2025-02-20')"), [A, D, A, A]),
        ("update a claim directly", format!("UPDATE claimdesk.claim SET priority = 'urgent' WHERE id = '{c}'"), [D, D, D, A]),
        ("delete a claim directly", format!("DELETE FROM claimdesk.claim_note WHERE claim_id = '{c}'"), [D, D, D, A]),
        ("check out the next claim", checkout.into(), [A, D, A, D]),
        ("check out and release", format!("{checkout}; SELECT claimdesk.claim_release('{c}')"), [A, D, A, D]),
        ("check out and pend", format!("{checkout}; SELECT claimdesk.claim_decide('{c}', 1, 'pend', '[]', NULL, NULL, 'records asked', 'records')"), [A, D, A, D]),
        ("add a claim note", format!("SELECT claimdesk.claim_add_note('{c}', 'called the provider')"), [A, D, A, D]),
        ("reassign a claim", format!("SELECT claimdesk.claim_reassign('{c}', NULL)"), [D, D, A, D]),
        ("verify a credential", format!("SELECT claimdesk.credential_verify('{cred}', 'State board', 'verified')"), [D, A, D, A]),
        ("edit a credential directly", format!("UPDATE claimdesk.provider_credential SET notes = 'x' WHERE id = '{cred}'"), [D, D, D, A]),
        ("record an LEIE import", leie.clone(), [D, A, D, A]),
        ("flag a provider from an LEIE import", format!("{leie}; SELECT claimdesk.leie_flag('{import}', '{}', 'k', 'npi')", f.provider), [D, A, D, A]),
        ("mark a provider excluded directly", format!("UPDATE claimdesk.provider SET excluded = true, exclusion_source = 'oig_leie', exclusion_date = '2025-01-01' WHERE id = '{}'", f.provider), [D, D, D, A]),
    ];

    let mut pools = Vec::new();
    for role in ROLES {
        pools.push(db.login(role).await);
    }
    let mut wrong = Vec::new();
    for (operation, sql, expected) in &matrix {
        for (i, role) in ROLES.iter().enumerate() {
            let got = attempt(&pools[i], sql).await;
            if got != expected[i] {
                wrong.push(format!(
                    "{role} / {operation}: expected {:?}, got {got:?}",
                    expected[i]
                ));
            }
        }
    }
    assert!(
        wrong.is_empty(),
        "permission matrix mismatches:\n{}",
        wrong.join("\n")
    );
    assert_eq!(
        matrix.len() * ROLES.len(),
        29 * 4,
        "every cell was asserted"
    );
    for pool in pools {
        pool.close().await;
    }
    db.cleanup().await;
}

#[tokio::test]
async fn restricted_members_are_visible_to_supervisors_only() {
    let mut db = TestDb::new().await;
    let f = fixture(&db.owner).await;
    sqlx::query("UPDATE claimdesk.member SET restricted = true WHERE id = $1")
        .bind(f.subscriber)
        .execute(&db.owner)
        .await
        .unwrap();
    let adjudicator = db.login("adjudicator").await;
    let supervisor = db.login("supervisor").await;
    let count = |pool: PgPool| async move {
        let n: i64 = sqlx::query_scalar("SELECT count(*) FROM claimdesk.member")
            .fetch_one(&pool)
            .await
            .unwrap();
        n
    };
    assert_eq!(count(adjudicator.clone()).await, 1, "only the child");
    assert_eq!(count(supervisor.clone()).await, 2);

    // The restriction follows the member into claims and their PHI.
    sqlx::query("UPDATE claimdesk.claim SET restricted = true WHERE member_id = $1")
        .bind(f.subscriber)
        .execute(&db.owner)
        .await
        .unwrap();
    for table in [
        "claim",
        "claim_line",
        "claim_diagnosis",
        "claim_status_history",
        "coverage_period",
        "policy",
    ] {
        let sql = format!("SELECT count(*) FROM claimdesk.{table}");
        let seen = |pool: PgPool| {
            let sql = sql.clone();
            async move {
                let n: i64 = sqlx::query_scalar(&sql).fetch_one(&pool).await.unwrap();
                n
            }
        };
        let total: i64 = sqlx::query_scalar(&sql).fetch_one(&db.owner).await.unwrap();
        let by_adjudicator = seen(adjudicator.clone()).await;
        assert!(
            by_adjudicator < total,
            "{table}: the adjudicator sees restricted rows"
        );
        assert_eq!(
            seen(supervisor.clone()).await,
            total,
            "{table}: the supervisor sees all"
        );
    }
    db.cleanup().await;
}

#[tokio::test]
async fn audit_chain_detects_edits_deletions_and_reordering() {
    let mut db = TestDb::new().await;
    let f = fixture(&db.owner).await;
    let adjudicator = db.login("adjudicator").await;
    for _ in 0..3 {
        sqlx::query("SELECT claimdesk.record_phi_view('member', $1::text, $1)")
            .bind(f.subscriber)
            .execute(&adjudicator)
            .await
            .unwrap();
    }
    let mut conn = db.owner_connection().await;
    let clean = audit::verify(&mut conn).await.unwrap();
    assert_eq!(clean.first_break, None);
    assert!(clean.rows_checked >= 10, "{clean:?}");

    // The log refuses edits even from its owner while the trigger is on.
    let refused = sqlx::raw_sql("UPDATE claimdesk.audit_log SET action = 'x' WHERE seq = 1")
        .execute(&mut conn)
        .await
        .unwrap_err();
    assert_eq!(error_code(refused), ErrorCode::PermissionDenied);

    // Each tampering runs with triggers off, in a transaction rolled back.
    // Rows live in lanes: find two views next to each other in one lane.
    let rows: Vec<(i64, i16, i64)> =
        sqlx::query_as("SELECT seq, lane, lane_seq FROM claimdesk.audit_log ORDER BY seq")
            .fetch_all(&mut conn)
            .await
            .unwrap();
    let views: Vec<i64> = sqlx::query_scalar(
        "SELECT seq FROM claimdesk.audit_log WHERE action = 'view' ORDER BY seq",
    )
    .fetch_all(&mut conn)
    .await
    .unwrap();
    let at = |seq: i64| *rows.iter().find(|r| r.0 == seq).unwrap();
    let next_in_lane = |seq: i64| {
        let (_, lane, ls) = at(seq);
        rows.iter().find(|r| r.1 == lane && r.2 == ls + 1).copied()
    };
    let v1 = *views
        .iter()
        .find(|&&v| next_in_lane(v).is_some())
        .expect("a view with a row after it in its lane");
    let (_, lane, ls) = at(v1);
    let (v2, _, _) = next_in_lane(v1).unwrap();
    let (second, second_lane, _) = at(2);
    // The last row of v1's lane.
    let (last, _, last_ls) = *rows
        .iter()
        .filter(|r| r.1 == lane)
        .max_by_key(|r| r.2)
        .unwrap();
    let cases = [
        (
            format!("UPDATE claimdesk.audit_log SET db_user = 'someone_else' WHERE seq = {v1}"),
            ChainBreak::ContentChanged {
                lane,
                seq: v1 as i32,
            },
        ),
        (
            "UPDATE claimdesk.audit_log SET new_values = '{\"paid\": \"0.00\"}' WHERE seq = 2"
                .to_string(),
            ChainBreak::ContentChanged {
                lane: second_lane,
                seq: second as i32,
            },
        ),
        (
            format!("DELETE FROM claimdesk.audit_log WHERE seq = {v1}"),
            ChainBreak::Gap {
                lane,
                expected: ls as i32,
                found: ls as i32 + 1,
                seq: v2 as i32,
            },
        ),
        (
            format!("DELETE FROM claimdesk.audit_log WHERE seq = {last}"),
            ChainBreak::HeadMismatch {
                lane,
                head_seq: last_ls as i32,
                last_seq: last_ls as i32 - 1,
            },
        ),
        // Swap two rows' places in their lane (through a spare position):
        // the position is part of the row's hash.
        (
            format!(
                "UPDATE claimdesk.audit_log SET lane_seq = 999999999 WHERE seq = {v1};
                  UPDATE claimdesk.audit_log SET lane_seq = {ls} WHERE seq = {v2};
                  UPDATE claimdesk.audit_log SET lane_seq = {} WHERE seq = {v1}",
                ls + 1
            ),
            ChainBreak::ContentChanged {
                lane,
                seq: v1 as i32,
            },
        ),
    ];
    for (tamper, expected) in cases {
        let mut tx = conn.begin().await.unwrap();
        sqlx::raw_sql("SET LOCAL session_replication_role = replica")
            .execute(&mut *tx)
            .await
            .unwrap();
        sqlx::raw_sql(&tamper).execute(&mut *tx).await.unwrap();
        let report = audit::verify(&mut tx).await.unwrap();
        assert_eq!(report.first_break, Some(expected), "after `{tamper}`");
        tx.rollback().await.unwrap();
    }
    // Move a row to another lane: the report names that row (its hash
    // covers the lane it was written in, and the lanes no longer add up).
    let mut tx = conn.begin().await.unwrap();
    sqlx::raw_sql("SET LOCAL session_replication_role = replica")
        .execute(&mut *tx)
        .await
        .unwrap();
    sqlx::raw_sql(&format!(
        "UPDATE claimdesk.audit_log SET lane = {}, lane_seq = 999999 WHERE seq = {v1}",
        (lane + 1) % 8
    ))
    .execute(&mut *tx)
    .await
    .unwrap();
    let moved = audit::verify(&mut tx).await.unwrap().first_break.unwrap();
    assert_eq!(moved.seq(), v1 as i32, "{moved:?}");
    tx.rollback().await.unwrap();
    assert_eq!(audit::verify(&mut conn).await.unwrap().first_break, None);
    drop(conn);
    db.cleanup().await;
}

#[tokio::test]
async fn audit_records_the_session_user_not_a_client_supplied_name() {
    let mut db = TestDb::new().await;
    let f = fixture(&db.owner).await;
    let adjudicator = db.login("adjudicator").await;
    let mut conn = adjudicator.acquire().await.unwrap();
    sqlx::raw_sql("SET application_name = 'pretending'; SET claimdesk.client = '{\"user\": \"supervisor_bob\"}'")
        .execute(&mut *conn)
        .await
        .unwrap();
    sqlx::query("SELECT claimdesk.claim_add_note($1, 'spoke with the billing office')")
        .bind(f.claim)
        .execute(&mut *conn)
        .await
        .unwrap();
    drop(conn);
    let (user, role, phi, client): (String, String, bool, serde_json::Value) = sqlx::query_as(
        "SELECT db_user, db_role, phi_accessed, client_info FROM claimdesk.audit_log
         WHERE resource_type = 'claim_note' ORDER BY seq DESC LIMIT 1",
    )
    .fetch_one(&db.owner)
    .await
    .unwrap();
    assert_eq!(user, format!("{}_adjudicator", db.name));
    assert_eq!(role, "claimdesk_adjudicator");
    assert!(phi);
    assert_eq!(client["application_name"], "pretending");
    db.cleanup().await;
}

// Transaction ids are cluster-wide, so another test's open writer may
// hold the watermark back for a moment: keep pulling until rows arrive.
async fn pull_until(
    reader: &mut sqlx::PgConnection,
    table: &str,
    cursor: &mut FeedCursor,
    want: usize,
) -> Vec<feed::Change> {
    let mut got = Vec::new();
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(30);
    while got.len() < want && std::time::Instant::now() < deadline {
        let batch = feed::pull(reader, table, *cursor, 1000).await.unwrap();
        got.extend(batch.changes);
        *cursor = batch.next;
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    }
    got
}

#[tokio::test]
async fn change_feed_never_skips_a_row_committed_out_of_order() {
    let db = TestDb::new().await;
    let f = fixture(&db.owner).await;
    let mut reader = db.owner_connection().await;
    let mut t1 = db.owner_connection().await;
    let mut t2 = db.owner_connection().await;
    // Status history is synced but not audited: audited writes serialise on
    // the audit chain head, which would make T2 wait for T1 here.
    let table = "claim_status_history";
    let insert_note = "INSERT INTO claimdesk.claim_status_history (id, claim_id, to_status) VALUES ($1, $2, 'in_review')";

    // Catch up past the fixture's own status row first.
    let mut cursor = FeedCursor::default();
    let fixture_rows = pull_until(&mut reader, table, &mut cursor, 1).await;
    assert_eq!(fixture_rows.len(), 1);

    // T1 takes its transaction id first and stays open; T2 writes later and commits.
    let (a, b) = (Uuid::new_v4(), Uuid::new_v4());
    sqlx::raw_sql("BEGIN").execute(&mut t1).await.unwrap();
    sqlx::query(insert_note)
        .bind(a)
        .bind(f.claim)
        .execute(&mut t1)
        .await
        .unwrap();
    sqlx::query(insert_note)
        .bind(b)
        .bind(f.claim)
        .execute(&mut t2)
        .await
        .unwrap();

    let during = feed::pull(&mut reader, table, cursor, 1000).await.unwrap();
    assert!(
        during.changes.is_empty(),
        "T2's row waits behind open T1: {during:?}"
    );
    cursor = during.next;

    sqlx::raw_sql("COMMIT").execute(&mut t1).await.unwrap();
    let after = pull_until(&mut reader, table, &mut cursor, 2).await;
    let ids: Vec<Uuid> = after.iter().map(|c| c.id).collect();
    assert_eq!(ids.len(), 2, "{after:?}");
    assert!(ids.contains(&a) && ids.contains(&b));

    // A deletion arrives as a tombstone.
    sqlx::query("DELETE FROM claimdesk.claim_status_history WHERE id = $1")
        .bind(a)
        .execute(&db.owner)
        .await
        .unwrap();
    let deleted = pull_until(&mut reader, table, &mut cursor, 1).await;
    assert_eq!(deleted.len(), 1);
    assert!(deleted[0].deleted && deleted[0].id == a);
    drop((reader, t1, t2));
    db.cleanup().await;
}

#[tokio::test]
async fn a_bigserial_cursor_skips_that_row() {
    // The naive design the feed avoids, shown failing on the same interleaving.
    let db = TestDb::new().await;
    sqlx::raw_sql("CREATE TABLE public.naive_feed (seq bigserial PRIMARY KEY, body text)")
        .execute(&db.owner)
        .await
        .unwrap();
    let mut t1 = db.owner_connection().await;
    let mut t2 = db.owner_connection().await;
    sqlx::raw_sql("BEGIN; INSERT INTO public.naive_feed (body) VALUES ('t1')")
        .execute(&mut t1)
        .await
        .unwrap();
    sqlx::raw_sql("INSERT INTO public.naive_feed (body) VALUES ('t2')")
        .execute(&mut t2)
        .await
        .unwrap();
    let cursor: i64 = sqlx::query_scalar("SELECT coalesce(max(seq), 0) FROM public.naive_feed")
        .fetch_one(&db.owner)
        .await
        .unwrap();
    sqlx::raw_sql("COMMIT").execute(&mut t1).await.unwrap();
    let later: Vec<String> =
        sqlx::query_scalar("SELECT body FROM public.naive_feed WHERE seq > $1")
            .bind(cursor)
            .fetch_all(&db.owner)
            .await
            .unwrap();
    assert!(
        later.is_empty(),
        "the naive reader never sees T1's row: {later:?}"
    );
    let all: i64 = sqlx::query_scalar("SELECT count(*) FROM public.naive_feed")
        .fetch_one(&db.owner)
        .await
        .unwrap();
    assert_eq!(all, 2, "yet T1's row is committed");
    drop((t1, t2));
    db.cleanup().await;
}

#[tokio::test]
async fn synced_tables_match_the_database() {
    let db = TestDb::new().await;
    let tables: Vec<String> = sqlx::query_scalar("SELECT unnest(claimdesk.synced_tables())")
        .fetch_all(&db.owner)
        .await
        .unwrap();
    assert_eq!(tables, SYNCED_TABLES.map(String::from).to_vec());
    let mut conn = db.owner_connection().await;
    assert!(matches!(
        feed::pull(
            &mut conn,
            "audit_log; DROP TABLE x",
            FeedCursor::default(),
            10
        )
        .await,
        Err(feed::FeedError::UnknownTable(_))
    ));
    drop(conn);
    db.cleanup().await;
}

#[tokio::test]
async fn eligibility_gives_the_reason() {
    let mut db = TestDb::new().await;
    let f = fixture(&db.owner).await;
    let lonely = Uuid::new_v4();
    sqlx::query(
        "INSERT INTO claimdesk.member (id, member_number, subscriber_id, first_name, last_name, date_of_birth, gender, status)
         VALUES ($1, 'LONELY', $1, 'No', 'Coverage', '1990-01-01', 'X', 'active')",
    )
    .bind(lonely)
    .execute(&db.owner)
    .await
    .unwrap();
    let adjudicator = db.login("adjudicator").await;
    let check = |member: Uuid, date: &'static str| {
        let pool = adjudicator.clone();
        async move {
            let (eligible, reason): (bool, String) = sqlx::query_as(
                "SELECT is_eligible, reason FROM claimdesk.check_eligibility($1, $2::date)",
            )
            .bind(member)
            .bind(date)
            .fetch_one(&pool)
            .await
            .unwrap();
            (eligible, reason)
        }
    };
    assert_eq!(
        check(f.subscriber, "2025-02-20").await,
        (true, "eligible".into())
    );
    assert_eq!(
        check(f.subscriber, "2023-12-31").await,
        (false, "coverage_not_yet_effective".into())
    );
    assert_eq!(
        check(f.child, "2024-03-01").await,
        (true, "eligible".into())
    );
    assert_eq!(
        check(f.child, "2024-07-15").await,
        (false, "coverage_gap".into())
    );
    assert_eq!(
        check(f.child, "2026-01-15").await,
        (false, "coverage_terminated".into())
    );
    assert_eq!(
        check(lonely, "2025-01-01").await,
        (false, "no_coverage".into())
    );
    assert_eq!(
        check(Uuid::new_v4(), "2025-01-01").await,
        (false, "member_not_found".into())
    );
    sqlx::query("UPDATE claimdesk.member SET status = 'suspended' WHERE id = $1")
        .bind(f.subscriber)
        .execute(&db.owner)
        .await
        .unwrap();
    assert_eq!(
        check(f.subscriber, "2025-02-20").await,
        (false, "member_not_active".into())
    );
    db.cleanup().await;
}

#[tokio::test]
async fn npi_check_digit_is_enforced() {
    let db = TestDb::new().await;
    let (good, bad): (bool, bool) = sqlx::query_as(
        "SELECT claimdesk.npi_is_valid('1234567893'), claimdesk.npi_is_valid('1234567891')",
    )
    .fetch_one(&db.owner)
    .await
    .unwrap();
    assert!(good && !bad);
    // The SQL rule and the Rust rule agree on a sweep of numbers.
    let sample: Vec<(String, bool)> = sqlx::query_as(
        "SELECT n, claimdesk.npi_is_valid(n) FROM (SELECT (1000000000 + g * 7919)::text AS n
         FROM generate_series(0, 999) g) s",
    )
    .fetch_all(&db.owner)
    .await
    .unwrap();
    for (npi, valid) in &sample {
        assert_eq!(claimdesk_core::domain::npi::is_valid(npi), *valid, "{npi}");
    }
    assert!(
        sample.iter().filter(|(_, v)| *v).count() > 50,
        "the sweep hits valid numbers too"
    );

    let err = sqlx::query(
        "INSERT INTO claimdesk.provider (id, npi, entity_type, organization_name) VALUES ($1, '1234567891', 'organization', 'X')",
    )
    .bind(Uuid::new_v4())
    .execute(&db.owner)
    .await
    .unwrap_err();
    let mapped = CentralError::from_sqlx(err, &CentralSettings::default());
    assert_eq!(mapped.code(), ErrorCode::InvalidInput);
    assert!(
        mapped.to_string().contains("provider_npi_valid"),
        "{mapped}"
    );
    db.cleanup().await;
}

#[tokio::test]
async fn claim_numbers_stay_unique_under_concurrency() {
    let db = TestDb::new().await;
    let tasks: Vec<_> = (0..16)
        .map(|_| {
            let pool = db.owner.clone();
            tokio::spawn(async move {
                let mut numbers = Vec::new();
                for _ in 0..25 {
                    let n: String =
                        sqlx::query_scalar("SELECT claimdesk.next_claim_number('2025-05-05')")
                            .fetch_one(&pool)
                            .await
                            .unwrap();
                    numbers.push(n);
                }
                numbers
            })
        })
        .collect();
    let mut all = Vec::new();
    for task in tasks {
        all.extend(task.await.unwrap());
    }
    let distinct: HashSet<&String> = all.iter().collect();
    assert_eq!(distinct.len(), 400);
    assert!(distinct.contains(&"CLM-20250505-000001".to_string()));
    assert!(distinct.contains(&"CLM-20250505-000400".to_string()));
    db.cleanup().await;
}

#[tokio::test]
async fn decision_rules_hold_in_the_database() {
    let mut db = TestDb::new().await;
    let f = common::credentialed_fixture(&db.owner).await;
    let adjudicator = db.login("adjudicator").await;
    let login = format!("{}_adjudicator", db.name);

    // Direct writes that break seed 001's rules are refused by constraints.
    for (sql, rule) in [
        ("UPDATE claimdesk.claim SET total_paid = 250.01", "claim_paid_within_billed"),
        ("UPDATE claimdesk.claim SET status = 'denied', adjudicated_by = 'x', adjudicated_at = now()", "claim_denial_explained"),
        ("UPDATE claimdesk.claim SET status = 'denied', adjudicated_by = 'x', adjudicated_at = now(), denial_group_code = 'CO', denial_carc = '27', denial_explanation = '  '", "claim_denial_explained"),
        ("UPDATE claimdesk.claim SET status = 'approved', total_paid = 10", "claim_decision_attributed"),
        ("UPDATE claimdesk.claim_line SET paid = billed + 1", "claim_line_paid_within_billed"),
    ] {
        let err = sqlx::raw_sql(sql).execute(&db.owner).await.unwrap_err();
        let mapped = CentralError::from_sqlx(err, &CentralSettings::default());
        assert!(mapped.to_string().contains(rule), "`{sql}` gave {mapped}");
    }

    let (claim, version): (Uuid, i32) =
        sqlx::query_as("SELECT claim_id, version FROM claimdesk.claim_checkout()")
            .fetch_one(&adjudicator)
            .await
            .unwrap();
    assert_eq!(claim, f.claim);

    let decide = |decision: &'static str,
                  version: i32,
                  lines: serde_json::Value,
                  carc: Option<&'static str>,
                  why: Option<&'static str>| {
        let pool = adjudicator.clone();
        async move {
            sqlx::query_scalar::<_, i32>(
                "SELECT claimdesk.claim_decide($1, $2, $3, $4, $5, $6, $7, NULL)",
            )
            .bind(claim)
            .bind(version)
            .bind(decision)
            .bind(lines)
            .bind(carc.map(|_| "CO"))
            .bind(carc)
            .bind(why)
            .fetch_one(&pool)
            .await
        }
    };
    let empty = serde_json::json!([]);
    // A denial needs a code and an explanation.
    let err = decide("deny", version, empty.clone(), None, Some("not covered"))
        .await
        .unwrap_err();
    assert_eq!(error_code(err), ErrorCode::InvalidInput);
    let err = decide("deny", version, empty.clone(), Some("27"), Some(" "))
        .await
        .unwrap_err();
    assert_eq!(error_code(err), ErrorCode::InvalidInput);
    // A stale version is a conflict.
    let err = decide("deny", version - 1, empty.clone(), Some("27"), Some("x"))
        .await
        .unwrap_err();
    assert_eq!(error_code(err), ErrorCode::VersionConflict);
    // Paying more than billed on a line is refused.
    let over = serde_json::json!([
        {"line_number": 1, "allowed": "150.00", "deductible": "0", "copay": "0", "coinsurance": "0", "paid": "150.01", "group_code": "CO", "carc": "45", "rarc": []},
        {"line_number": 2, "allowed": "100.00", "deductible": "0", "copay": "0", "coinsurance": "0", "paid": "100.00", "group_code": null, "carc": null, "rarc": []}
    ]);
    let err = decide("approve", version, over, None, None)
        .await
        .unwrap_err();
    assert_eq!(error_code(err), ErrorCode::FiguresRejected);
    // A remark code that is not in the list is refused.
    let unknown_remark = serde_json::json!([
        {"line_number": 1, "allowed": "90.00", "deductible": "0", "copay": "20.00", "coinsurance": "0", "paid": "70.00", "group_code": "CO", "carc": "45", "rarc": ["N999"],
         "adjustments": [{"group": "CO", "carc": "45", "amount": "60.00"}, {"group": "PR", "carc": "3", "amount": "20.00"}]},
        {"line_number": 2, "allowed": "80.00", "deductible": "0", "copay": "0", "coinsurance": "16.00", "paid": "64.00", "group_code": "CO", "carc": "45", "rarc": [],
         "adjustments": [{"group": "CO", "carc": "45", "amount": "20.00"}, {"group": "PR", "carc": "2", "amount": "16.00"}]}
    ]);
    let err = decide("approve", version, unknown_remark, None, None)
        .await
        .unwrap_err();
    assert_eq!(error_code(err), ErrorCode::InvalidInput);

    let lines = serde_json::json!([
        {"line_number": 1, "allowed": "90.00", "deductible": "0", "copay": "20.00", "coinsurance": "0", "paid": "70.00", "group_code": "CO", "carc": "45", "rarc": [],
         "adjustments": [{"group": "CO", "carc": "45", "amount": "60.00"}, {"group": "PR", "carc": "3", "amount": "20.00"}]},
        {"line_number": 2, "allowed": "80.00", "deductible": "0", "copay": "0", "coinsurance": "16.00", "paid": "64.00", "group_code": "CO", "carc": "45", "rarc": ["N130"],
         "adjustments": [{"group": "CO", "carc": "45", "amount": "20.00"}, {"group": "PR", "carc": "2", "amount": "16.00"}]}
    ]);
    let new_version = decide("approve", version, lines, None, Some("paid per contract"))
        .await
        .unwrap();
    assert_eq!(new_version, version + 1);

    let (status, by, at_recent, paid, holder): (
        String,
        String,
        bool,
        rust_decimal::Decimal,
        Option<String>,
    ) = sqlx::query_as(
        "SELECT status, adjudicated_by, adjudicated_at > now() - interval '1 minute', total_paid,
                    (SELECT lease_holder FROM claimdesk.queue_entry WHERE claim_id = $1)
             FROM claimdesk.claim WHERE id = $1",
    )
    .bind(claim)
    .fetch_one(&adjudicator)
    .await
    .unwrap();
    assert_eq!(status, "approved");
    assert_eq!(by, login, "the adjudicator is the session's login");
    assert!(at_recent);
    assert_eq!(paid, rust_decimal::Decimal::new(13400, 2));
    assert_eq!(
        holder, None,
        "the decision ends the lease and the claim leaves the queue"
    );

    let history: Vec<String> =
        sqlx::query_scalar("SELECT to_status FROM claimdesk.claim_status_history WHERE claim_id = $1 ORDER BY changed_at, to_status")
            .bind(claim)
            .fetch_all(&adjudicator)
            .await
            .unwrap();
    assert_eq!(
        history,
        ["received", "approved"],
        "checkout leases; it is not a status"
    );
    db.cleanup().await;
}

#[tokio::test]
async fn migrations_are_rerunnable() {
    let db = TestDb::new().await;
    let before: i64 = sqlx::query_scalar("SELECT count(*) FROM _sqlx_migrations")
        .fetch_one(&db.owner)
        .await
        .unwrap();
    claimdesk_core::central::MIGRATOR
        .run(&db.owner)
        .await
        .unwrap();
    let after: i64 = sqlx::query_scalar("SELECT count(*) FROM _sqlx_migrations")
        .fetch_one(&db.owner)
        .await
        .unwrap();
    assert_eq!(before, after);
    assert_eq!(
        before as usize,
        claimdesk_core::central::MIGRATOR.iter().count()
    );
    db.cleanup().await;
}
