//! Decisions through the central functions: authority routing, accumulators,
//! request for information, denied-line codes.

mod common;

use claimdesk_core::central::CentralError;
use claimdesk_core::ErrorCode;
use common::{credentialed_fixture, error_code, TestDb};
use rust_decimal::Decimal;
use serde_json::json;
use sqlx::PgPool;
use uuid::Uuid;

async fn checkout(pool: &PgPool) -> (Uuid, i32) {
    sqlx::query_as("SELECT claim_id, version FROM claimdesk.claim_checkout()")
        .fetch_one(pool)
        .await
        .unwrap()
}

async fn decide(
    pool: &PgPool,
    claim: Uuid,
    version: i32,
    decision: &str,
    lines: serde_json::Value,
    why: Option<&str>,
    pend: Option<&str>,
) -> Result<i32, sqlx::Error> {
    sqlx::query_scalar("SELECT claimdesk.claim_decide($1, $2, $3, $4, NULL, NULL, $5, $6)")
        .bind(claim)
        .bind(version)
        .bind(decision)
        .bind(lines)
        .bind(why)
        .bind(pend)
        .fetch_one(pool)
        .await
}

fn lines(paid1: &str, paid2: &str) -> serde_json::Value {
    json!([
        {"line_number": 1, "allowed": "150.00", "deductible": "30.00", "copay": "20.00", "coinsurance": "10.00", "paid": paid1,
         "group_code": "PR", "carc": "1", "rarc": [],
         "adjustments": [{"group": "PR", "carc": "1", "amount": "30.00"}, {"group": "PR", "carc": "3", "amount": "20.00"},
                         {"group": "PR", "carc": "2", "amount": "10.00"}]},
        {"line_number": 2, "allowed": "100.00", "deductible": "0", "copay": "0", "coinsurance": "20.00", "paid": paid2,
         "group_code": null, "carc": null, "rarc": [], "adjustments": [{"group": "PR", "carc": "2", "amount": "20.00"}]}
    ])
}

#[tokio::test]
async fn payments_above_authority_wait_for_a_supervisor_and_accumulate() {
    let mut db = TestDb::new().await;
    let f = credentialed_fixture(&db.owner).await;
    let adjudicator = db.login("adjudicator").await;
    let supervisor = db.login("supervisor").await;
    sqlx::query("INSERT INTO claimdesk.authority_limit (login, max_paid) VALUES ($1, 100.00)")
        .bind(format!("{}_adjudicator", db.name))
        .execute(&db.owner)
        .await
        .unwrap();

    let (claim, version) = checkout(&adjudicator).await;
    let v2 = decide(
        &adjudicator,
        claim,
        version,
        "approve",
        lines("90.00", "80.00"),
        Some("per contract"),
        None,
    )
    .await
    .unwrap();
    let (status, routed, paid): (String, bool, Decimal) = sqlx::query_as(
        "SELECT status, requires_approval, total_paid FROM claimdesk.claim WHERE id = $1",
    )
    .bind(claim)
    .fetch_one(&adjudicator)
    .await
    .unwrap();
    assert_eq!(
        (status.as_str(), routed, paid),
        ("approved", true, Decimal::new(17000, 2))
    );

    // Not payable until approved.
    let err = sqlx::query("UPDATE claimdesk.claim SET status = 'paid' WHERE id = $1")
        .bind(claim)
        .execute(&db.owner)
        .await
        .unwrap_err();
    assert!(CentralError::from_sqlx(err, &Default::default())
        .to_string()
        .contains("claim_paid_needs_approval"));
    // Adjudicators cannot approve their own routed claims.
    let err = sqlx::query("SELECT claimdesk.claim_approve_routed($1, true, 'ok')")
        .bind(claim)
        .execute(&adjudicator)
        .await
        .unwrap_err();
    assert_eq!(error_code(err), ErrorCode::PermissionDenied);
    let v3: i32 = sqlx::query_scalar(
        "SELECT claimdesk.claim_approve_routed($1, true, 'checked the operative report')",
    )
    .bind(claim)
    .fetch_one(&supervisor)
    .await
    .unwrap();
    assert_eq!(v3, v2 + 1);
    sqlx::query("UPDATE claimdesk.claim SET status = 'paid' WHERE id = $1")
        .bind(claim)
        .execute(&db.owner)
        .await
        .unwrap();

    // The member's cost share landed in this plan year's accumulator.
    let (deductible, oop): (Decimal, Decimal) = sqlx::query_as(
        "SELECT deductible_met, oop_met FROM claimdesk.accumulator WHERE member_id = $1 AND plan_year = 2025",
    )
    .bind(f.subscriber)
    .fetch_one(&db.owner)
    .await
    .unwrap();
    assert_eq!(
        (deductible, oop),
        (Decimal::new(3000, 2), Decimal::new(8000, 2))
    );
    db.cleanup().await;
}

#[tokio::test]
async fn within_authority_is_not_routed_and_request_info_pends_with_a_note() {
    let mut db = TestDb::new().await;
    credentialed_fixture(&db.owner).await;
    let adjudicator = db.login("adjudicator").await;
    let (claim, version) = checkout(&adjudicator).await;

    // Heartbeats keep the lease without writing to the audit log.
    let before: i64 = sqlx::query_scalar("SELECT count(*) FROM claimdesk.audit_log")
        .fetch_one(&db.owner)
        .await
        .unwrap();
    for _ in 0..3 {
        sqlx::query("SELECT claimdesk.claim_heartbeat($1)")
            .bind(claim)
            .execute(&adjudicator)
            .await
            .unwrap();
    }
    let after: i64 = sqlx::query_scalar("SELECT count(*) FROM claimdesk.audit_log")
        .fetch_one(&db.owner)
        .await
        .unwrap();
    assert_eq!(before, after);

    // A denied line (nothing paid) needs its codes.
    let mut bad = lines("90.00", "0");
    bad[1]["allowed"] = json!("0");
    bad[1]["coinsurance"] = json!("0");
    bad[1]["adjustments"] = json!([{"group": "CO", "carc": "50", "amount": "100.00"}]);
    let err = decide(
        &adjudicator,
        claim,
        version,
        "partial",
        bad,
        Some("line 2 bundled"),
        None,
    )
    .await
    .unwrap_err();
    assert_eq!(error_code(err), ErrorCode::InvalidInput);
    // A partial approval needs a justification.
    let err = decide(
        &adjudicator,
        claim,
        version,
        "partial",
        lines("90.00", "80.00"),
        None,
        None,
    )
    .await
    .unwrap_err();
    assert_eq!(error_code(err), ErrorCode::InvalidInput);

    let v2 = decide(
        &adjudicator,
        claim,
        version,
        "request_info",
        json!([]),
        Some("operative report"),
        Some("records"),
    )
    .await
    .unwrap();
    let (status, reason, routed): (String, Option<String>, bool) = sqlx::query_as(
        "SELECT status, pend_reason, requires_approval FROM claimdesk.claim WHERE id = $1",
    )
    .bind(claim)
    .fetch_one(&adjudicator)
    .await
    .unwrap();
    assert_eq!(
        (status.as_str(), reason.as_deref(), routed),
        ("pended", Some("records"), false)
    );
    let note: String =
        sqlx::query_scalar("SELECT body FROM claimdesk.claim_note WHERE claim_id = $1")
            .bind(claim)
            .fetch_one(&adjudicator)
            .await
            .unwrap();
    assert_eq!(note, "Information requested: operative report");
    assert_eq!(v2, version + 1);
    db.cleanup().await;
}
