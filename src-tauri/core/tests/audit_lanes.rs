//! The audit trail's lanes (migration 0017): appends from many connections
//! spread over eight chains, rows written before the lanes stay verifiable
//! and lane 0 continues their chain, and the parallel verifier (runs in one
//! exported snapshot) gives the same answer as the sequential one.

mod common;

use claimdesk_core::audit::{self, ChainBreak};
use common::TestDb;
use sqlx::Connection;

async fn append(pool: &sqlx::PgPool, n: usize) {
    for i in 0..n {
        sqlx::query("SELECT claimdesk.audit_append('view', 'claim', $1, gen_random_uuid(), true, NULL, jsonb_build_object('i', $2::int))")
            .bind(format!("c{i}"))
            .bind(i as i32)
            .execute(pool)
            .await
            .unwrap();
    }
}

/// Tampers with the committed trail (triggers off), as an owner could.
async fn tamper(db: &TestDb, sql: &str) {
    let mut conn = db.owner_connection().await;
    let mut tx = conn.begin().await.unwrap();
    sqlx::raw_sql("SET LOCAL session_replication_role = replica")
        .execute(&mut *tx)
        .await
        .unwrap();
    sqlx::raw_sql(sql).execute(&mut *tx).await.unwrap();
    tx.commit().await.unwrap();
}

async fn both(db: &TestDb) -> audit::ChainReport {
    let mut conn = db.owner_connection().await;
    let one = audit::verify(&mut conn).await.unwrap();
    let parallel = audit::verify_parallel(&db.owner, 4).await.unwrap();
    // The same first break; when there is none, the same rows read. (Once
    // broken, each run stops at its own first break, so counts differ.)
    assert_eq!(
        one.first_break, parallel.first_break,
        "the two verifiers disagree"
    );
    if one.first_break.is_none() {
        assert_eq!(one, parallel);
    }
    one
}

#[tokio::test]
async fn rows_from_before_the_lanes_and_after_verify_as_one_trail() {
    let db = TestDb::migrated_to(16).await;
    append(&db.owner, 30).await;
    let before: i64 = sqlx::query_scalar("SELECT max(seq) FROM claimdesk.audit_log")
        .fetch_one(&db.owner)
        .await
        .unwrap();
    db.migrate().await;
    append(&db.owner, 40).await;

    let report = both(&db).await;
    assert_eq!(report.first_break, None);
    let total: i64 = sqlx::query_scalar("SELECT count(*) FROM claimdesk.audit_log")
        .fetch_one(&db.owner)
        .await
        .unwrap();
    assert_eq!(i64::from(report.rows_checked), total);
    // Lane 0 carries on from the old chain's end.
    let lane0: Option<i64> =
        sqlx::query_scalar("SELECT min(lane_seq) FROM claimdesk.audit_log WHERE lane = 0")
            .fetch_one(&db.owner)
            .await
            .unwrap();
    if let Some(first) = lane0 {
        assert_eq!(first, before + 1);
    }
    // An edit to a row from before the lanes is still found.
    tamper(
        &db,
        "UPDATE claimdesk.audit_log SET action = 'update' WHERE seq = 5",
    )
    .await;
    assert_eq!(
        both(&db).await.first_break,
        Some(ChainBreak::ContentChanged { lane: 0, seq: 5 })
    );
    db.cleanup().await;
}

#[tokio::test]
async fn appends_from_many_connections_spread_over_lanes_and_a_hole_is_found() {
    let db = TestDb::new().await;
    let pools: Vec<sqlx::PgPool> = futures_util::future::join_all((0..12).map(|_| {
        sqlx::postgres::PgPoolOptions::new()
            .max_connections(1)
            .connect_with(db.options())
    }))
    .await
    .into_iter()
    .map(Result::unwrap)
    .collect();
    futures_util::future::join_all(pools.iter().map(|p| append(p, 25))).await;
    let lanes: i64 = sqlx::query_scalar("SELECT count(DISTINCT lane) FROM claimdesk.audit_log")
        .fetch_one(&db.owner)
        .await
        .unwrap();
    assert!(lanes > 1, "12 connections used {lanes} lane");
    let clean = both(&db).await;
    assert_eq!(clean.first_break, None);
    assert!(clean.rows_checked >= 300);

    // Remove a row from the middle of a lane: the next row of that lane is named.
    let (seq, lane, lane_seq, next): (i64, i16, i64, i64) = sqlx::query_as(
        "SELECT a.seq, a.lane, a.lane_seq, b.seq FROM claimdesk.audit_log a
         JOIN claimdesk.audit_log b ON b.lane = a.lane AND b.lane_seq = a.lane_seq + 1
         ORDER BY a.seq OFFSET 150 LIMIT 1",
    )
    .fetch_one(&db.owner)
    .await
    .unwrap();
    tamper(
        &db,
        &format!("DELETE FROM claimdesk.audit_log WHERE seq = {seq}"),
    )
    .await;
    assert_eq!(
        both(&db).await.first_break,
        Some(ChainBreak::Gap {
            lane,
            expected: lane_seq as i32,
            found: lane_seq as i32 + 1,
            seq: next as i32,
        })
    );
    for p in pools {
        p.close().await;
    }
    db.cleanup().await;
}
