//! Claims that do not get stuck (issue 19): taking a claim opened from the
//! list, leases kept by renewal, pended claims returning by themselves, and
//! priority rising with the due date without a person. Real PostgreSQL.

mod common;

use chrono::NaiveDate;
use claimdesk_core::priority::{self, ClaimFacts, Priority, Rules};
use claimdesk_core::queue;
use claimdesk_core::ErrorCode;
use common::{credentialed_fixture, error_code, TestDb};
use rust_decimal::Decimal;
use sqlx::PgPool;
use uuid::Uuid;

async fn lease_of(owner: &PgPool, claim: Uuid) -> (Option<String>, bool) {
    sqlx::query_as(
        "SELECT lease_holder, coalesce(lease_expires_at > now() + interval '14 minutes', false)
         FROM claimdesk.queue_entry WHERE claim_id = $1",
    )
    .bind(claim)
    .fetch_one(owner)
    .await
    .unwrap()
}

async fn status_and_reason(owner: &PgPool, claim: Uuid) -> (String, Option<String>) {
    sqlx::query_as(
        "SELECT c.status, (SELECT h.reason FROM claimdesk.claim_status_history h WHERE h.claim_id = c.id
                           ORDER BY h.changed_at DESC, h.id LIMIT 1)
         FROM claimdesk.claim c WHERE c.id = $1",
    )
    .bind(claim)
    .fetch_one(owner)
    .await
    .unwrap()
}

#[tokio::test]
async fn a_claim_opened_from_the_list_is_taken_and_a_renewed_lease_outlives_its_term() {
    let mut db = TestDb::new().await;
    let f = credentialed_fixture(&db.owner).await;
    let me = db.login("adjudicator").await;
    let other = db.login("adjudicator").await;
    let my_name = format!("{}_adjudicator", db.name);

    let mut conn = me.acquire().await.unwrap();
    let taken = queue::take(&mut conn, f.claim).await.unwrap();
    assert_eq!(taken.claim_id, f.claim);
    assert_eq!(
        lease_of(&db.owner, f.claim).await,
        (Some(my_name.clone()), true)
    );
    // Taking it again renews; someone else is refused while it is held.
    queue::take(&mut conn, f.claim).await.unwrap();
    let mut theirs = other.acquire().await.unwrap();
    let err = queue::take(&mut theirs, f.claim).await.unwrap_err();
    assert_eq!(error_code(err), ErrorCode::ClaimHeld);

    // Fourteen minutes later (moved on the server's clock), a heartbeat
    // renews it to a full term again, and no checkout takes it meanwhile.
    sqlx::query("UPDATE claimdesk.queue_entry SET lease_expires_at = now() + interval '1 minute' WHERE claim_id = $1")
        .bind(f.claim)
        .execute(&db.owner)
        .await
        .unwrap();
    queue::heartbeat(&mut conn, f.claim).await.unwrap();
    assert_eq!(lease_of(&db.owner, f.claim).await, (Some(my_name), true));
    let err = queue::checkout(&mut theirs).await.unwrap_err();
    assert_eq!(error_code(err), ErrorCode::QueueEmpty);

    // Without renewals the lease runs out: the heartbeat says so, and the
    // other adjudicator can take the claim.
    sqlx::query("UPDATE claimdesk.queue_entry SET lease_expires_at = now() - interval '1 second' WHERE claim_id = $1")
        .bind(f.claim)
        .execute(&db.owner)
        .await
        .unwrap();
    let err = queue::heartbeat(&mut conn, f.claim).await.unwrap_err();
    assert_eq!(error_code(err), ErrorCode::LeaseLost);
    queue::take(&mut theirs, f.claim).await.unwrap();
    let taken: i64 =
        sqlx::query_scalar("SELECT count(*) FROM claimdesk.audit_log WHERE action = 'take'")
            .fetch_one(&db.owner)
            .await
            .unwrap();
    assert_eq!(
        taken, 2,
        "a take is audited once per person, not per renewal"
    );
    drop((conn, theirs));
    db.cleanup().await;
}

/// Pends the fixture's claim as `login` with `reason`.
async fn pend(db: &TestDb, pool: &PgPool, claim: Uuid, decision: &str, reason: &str) {
    let login: String = sqlx::query_scalar("SELECT current_user::text")
        .fetch_one(pool)
        .await
        .unwrap();
    sqlx::query(
        "UPDATE claimdesk.queue_entry SET lease_holder = $2, lease_expires_at = now() + interval '15 minutes',
                leased_at = now() WHERE claim_id = $1",
    )
    .bind(claim)
    .bind(login)
    .execute(&db.owner)
    .await
    .unwrap();
    let version: i32 = sqlx::query_scalar("SELECT version FROM claimdesk.claim WHERE id = $1")
        .bind(claim)
        .fetch_one(&db.owner)
        .await
        .unwrap();
    sqlx::query("SELECT claimdesk.claim_decide($1, $2, $3, '[]', NULL, NULL, 'waiting', $4)")
        .bind(claim)
        .bind(version)
        .bind(decision)
        .bind(reason)
        .execute(pool)
        .await
        .unwrap();
}

#[tokio::test]
async fn pended_claims_come_back_when_their_pend_ends_their_information_arrives_or_a_supervisor_lifts_it(
) {
    let mut db = TestDb::new().await;
    let f = credentialed_fixture(&db.owner).await;
    let adj = db.login("adjudicator").await;
    let sup = db.login("supervisor").await;
    sqlx::raw_sql(
        "INSERT INTO claimdesk.pend_reason (code, description, default_days, awaits_information) VALUES
             ('medical_review', 'Clinical review', 14, false) ON CONFLICT (code) DO NOTHING;
         UPDATE claimdesk.pend_reason SET awaits_information = true WHERE code = 'records';",
    )
    .execute(&db.owner)
    .await
    .unwrap();

    // Asked for records: the request's own note does not bring it back, an
    // attachment does.
    pend(&db, &adj, f.claim, "request_info", "records").await;
    assert_eq!(status_and_reason(&db.owner, f.claim).await.0, "pended");
    sqlx::query("SELECT claimdesk.claim_attach_document($1, gen_random_uuid(), 'medical_record', 'op-report.pdf', 'application/pdf', '%PDF-1.4 test'::bytea)")
        .bind(f.claim)
        .execute(&adj)
        .await
        .unwrap();
    assert_eq!(
        status_and_reason(&db.owner, f.claim).await,
        (
            "in_review".into(),
            Some("Information arrived: op-report.pdf".into())
        )
    );
    let back_in_queue: bool =
        sqlx::query_scalar("SELECT NOT pended FROM claimdesk.queue_entry WHERE claim_id = $1")
            .bind(f.claim)
            .fetch_one(&db.owner)
            .await
            .unwrap();
    assert!(back_in_queue);

    // Pended for records, a note with the provider's answer brings it back.
    pend(&db, &adj, f.claim, "pend", "records").await;
    sqlx::query(
        "SELECT claimdesk.claim_add_note($1, 'Office called: the visit was a new problem')",
    )
    .bind(f.claim)
    .execute(&adj)
    .await
    .unwrap();
    assert_eq!(
        status_and_reason(&db.owner, f.claim).await,
        (
            "in_review".into(),
            Some("Information arrived: a note".into())
        )
    );

    // A clinical review waits for our own nurse, not for information: a note
    // leaves it pended; its end date brings it back.
    pend(&db, &adj, f.claim, "pend", "medical_review").await;
    sqlx::query("SELECT claimdesk.claim_add_note($1, 'Sent to the nurse reviewer')")
        .bind(f.claim)
        .execute(&adj)
        .await
        .unwrap();
    assert_eq!(status_and_reason(&db.owner, f.claim).await.0, "pended");
    let mut conn = sup.acquire().await.unwrap();
    let today: NaiveDate = sqlx::query_scalar("SELECT current_date")
        .fetch_one(&mut *conn)
        .await
        .unwrap();
    let done = queue::housekeeping(&mut conn, today, 100).await.unwrap();
    assert_eq!(done.pends_returned, 0, "its pend has not ended");
    let done = queue::housekeeping(&mut conn, today + chrono::Duration::days(14), 100)
        .await
        .unwrap();
    assert_eq!(done.pends_returned, 1);
    assert_eq!(
        status_and_reason(&db.owner, f.claim).await,
        ("in_review".into(), Some("Pend ended".into()))
    );

    // A supervisor lifts a pend, with a note; an adjudicator may not.
    pend(&db, &adj, f.claim, "pend", "medical_review").await;
    let mut adj_conn = adj.acquire().await.unwrap();
    let err = queue::lift_pend(&mut adj_conn, f.claim, "done")
        .await
        .unwrap_err();
    assert_eq!(error_code(err), ErrorCode::PermissionDenied);
    let err = queue::lift_pend(&mut conn, f.claim, " ").await.unwrap_err();
    assert_eq!(error_code(err), ErrorCode::InvalidInput);
    queue::lift_pend(&mut conn, f.claim, "reviewed on the phone")
        .await
        .unwrap();
    assert_eq!(
        status_and_reason(&db.owner, f.claim).await,
        (
            "in_review".into(),
            Some("Pend lifted by a supervisor: reviewed on the phone".into())
        )
    );
    drop((conn, adj_conn));
    db.cleanup().await;
}

#[tokio::test]
async fn priority_rises_with_the_due_date_without_a_person_and_never_falls() {
    let mut db = TestDb::new().await;
    let f = credentialed_fixture(&db.owner).await;
    let sup = db.login("supervisor").await;
    // The fixture's claim is due 2025-03-31 and normal.
    let mut conn = sup.acquire().await.unwrap();
    let rank = |owner: PgPool| async move {
        sqlx::query_as::<_, (String, i16, serde_json::Value)>(
            "SELECT c.priority, q.priority_rank, c.priority_reasons FROM claimdesk.claim c
             JOIN claimdesk.queue_entry q ON q.claim_id = c.id WHERE c.id = $1",
        )
        .bind(f.claim)
        .fetch_one(&owner)
        .await
        .unwrap()
    };
    let d = |y, m, day| NaiveDate::from_ymd_opt(y, m, day).unwrap();
    assert_eq!(
        queue::housekeeping(&mut conn, d(2025, 3, 20), 100)
            .await
            .unwrap()
            .priorities_raised,
        0
    );
    assert_eq!(rank(db.owner.clone()).await.0, "normal");
    // Five days before: high, with the rule's reason, in the queue too.
    assert_eq!(
        queue::housekeeping(&mut conn, d(2025, 3, 26), 100)
            .await
            .unwrap()
            .priorities_raised,
        1
    );
    let (priority, queue_rank, reasons) = rank(db.owner.clone()).await;
    assert_eq!((priority.as_str(), queue_rank), ("high", 2));
    assert_eq!(
        reasons.as_array().unwrap().last().unwrap()["rule"],
        "prompt_pay_due_soon"
    );
    // A second run the same day does nothing.
    assert_eq!(
        queue::housekeeping(&mut conn, d(2025, 3, 26), 100)
            .await
            .unwrap()
            .priorities_raised,
        0
    );
    // Overdue: urgent.
    assert_eq!(
        queue::housekeeping(&mut conn, d(2025, 4, 1), 100)
            .await
            .unwrap()
            .priorities_raised,
        1
    );
    assert_eq!(rank(db.owner.clone()).await.0, "urgent");
    let history: String = sqlx::query_scalar(
        "SELECT string_agg(reason, ' | ' ORDER BY changed_at) FROM claimdesk.claim_status_history
         WHERE claim_id = $1 AND from_status = to_status",
    )
    .bind(f.claim)
    .fetch_one(&db.owner)
    .await
    .unwrap();
    assert_eq!(history, "Priority normal to high | Priority high to urgent");
    // Never lowered: a later due date leaves urgent alone.
    sqlx::query("UPDATE claimdesk.claim SET prompt_pay_due = '2025-06-30' WHERE id = $1")
        .bind(f.claim)
        .execute(&db.owner)
        .await
        .unwrap();
    assert_eq!(
        queue::housekeeping(&mut conn, d(2025, 4, 1), 100)
            .await
            .unwrap()
            .priorities_raised,
        0
    );
    assert_eq!(rank(db.owner.clone()).await.0, "urgent");
    // Adjudicators do not run it.
    let mut adj = db.login("adjudicator").await.acquire().await.unwrap();
    let err = queue::housekeeping(&mut adj, d(2025, 4, 1), 100)
        .await
        .unwrap_err();
    assert_eq!(error_code(err), ErrorCode::PermissionDenied);
    drop((conn, adj));
    db.cleanup().await;
}

/// Central's due-date rank and the intake rules agree on every day around a due date.
#[tokio::test]
async fn the_due_date_rank_on_central_is_the_intake_rules() {
    let db = TestDb::new().await;
    let rules = Rules {
        emergency_cpts: Default::default(),
        acute_icd10: Default::default(),
        routine_cpts: Default::default(),
        high_amount: Decimal::new(1_000_000, 0),
        due_soon_days: 5,
    };
    let due = NaiveDate::from_ymd_opt(2026, 6, 15).unwrap();
    for offset in -10..=10 {
        let today = due + chrono::Duration::days(offset);
        let scored = priority::score(
            &ClaimFacts {
                cpts: vec!["99213".into()],
                icd10: vec![],
                place_of_service: "11".into(),
                billed: Decimal::ONE_HUNDRED,
                due,
                risk_severity: None,
            },
            &rules,
            today,
        );
        let central: i16 = sqlx::query_scalar("SELECT claimdesk.due_date_rank($1, $2)")
            .bind(due)
            .bind(today)
            .fetch_one(&db.owner)
            .await
            .unwrap();
        let expected = match scored.priority {
            Priority::Urgent => 1,
            Priority::High => 2,
            _ => 4,
        };
        assert_eq!(central, expected, "today {today}");
    }
    db.cleanup().await;
}
