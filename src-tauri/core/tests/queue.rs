//! The work queue under concurrency, against a real PostgreSQL.

mod common;

use std::collections::HashSet;

use common::{fixture, TestDb};
use uuid::Uuid;

/// Adds `n` open claims like the fixture's, in one statement.
async fn open_claims(db: &TestDb, f: &common::Fixture, n: i32) {
    sqlx::query(
        "INSERT INTO claimdesk.claim (id, claim_number, claim_type, member_id, policy_id, provider_id,
             service_from, service_to, received_at, prompt_pay_due, total_billed, priority)
         SELECT gen_random_uuid(), claimdesk.next_claim_number('2026-01-02'), 'professional', $1, $2, $3,
                '2025-12-20', '2025-12-20', '2026-01-02 09:00Z'::timestamptz + g * interval '1 second',
                '2026-02-01'::date + (g % 20), 100 + g % 900,
                (ARRAY['urgent', 'high', 'normal', 'low'])[1 + g % 4]
         FROM generate_series(1, $4) g",
    )
    .bind(f.subscriber)
    .bind(f.policy)
    .bind(f.provider)
    .bind(n)
    .execute(&db.owner)
    .await
    .unwrap();
}

#[tokio::test]
async fn sixteen_clients_never_lease_a_claim_twice_and_expired_leases_return() {
    let mut db = TestDb::new().await;
    let f = fixture(&db.owner).await;
    open_claims(&db, &f, 2_100).await;
    let mut pools = Vec::new();
    for _ in 0..4 {
        pools.push(db.login("adjudicator").await);
    }
    let tasks: Vec<_> = (0..16)
        .map(|i| {
            let pool = pools[i % 4].clone();
            tokio::spawn(async move {
                let mut got = Vec::new();
                for _ in 0..125 {
                    let (id,): (Uuid,) =
                        sqlx::query_as("SELECT claim_id FROM claimdesk.claim_checkout()")
                            .fetch_one(&pool)
                            .await
                            .unwrap();
                    got.push(id);
                }
                got
            })
        })
        .collect();
    let mut all = Vec::new();
    for t in tasks {
        all.extend(t.await.unwrap());
    }
    assert_eq!(all.len(), 2_000);
    let distinct: HashSet<Uuid> = all.iter().copied().collect();
    assert_eq!(distinct.len(), 2_000, "a claim was leased twice");

    // Queue order: what is left unleased is the lowest priority only.
    let not_low_left: i64 = sqlx::query_scalar(
        "SELECT count(*) FROM claimdesk.claim WHERE lease_holder IS NULL AND priority <> 'low'",
    )
    .fetch_one(&db.owner)
    .await
    .unwrap();
    assert_eq!(not_low_left, 0, "higher priorities are handed out first");

    // Leases that lapse return to the queue by themselves.
    let expired: Vec<Uuid> = all[..10].to_vec();
    sqlx::query("UPDATE claimdesk.claim SET lease_expires_at = now() - interval '1 minute' WHERE id = ANY($1)")
        .bind(&expired)
        .execute(&db.owner)
        .await
        .unwrap();
    let mut again = HashSet::new();
    for _ in 0..111 {
        let (id,): (Uuid,) = sqlx::query_as("SELECT claim_id FROM claimdesk.claim_checkout()")
            .fetch_one(&pools[0])
            .await
            .unwrap();
        again.insert(id);
    }
    for id in &expired {
        assert!(
            again.contains(id),
            "expired lease on {id} was not reclaimed"
        );
    }
    // The queue runs dry with a clear error, not a hang.
    let mut drained = 0;
    loop {
        match sqlx::query("SELECT claim_id FROM claimdesk.claim_checkout()")
            .fetch_one(&pools[1])
            .await
        {
            Ok(_) => drained += 1,
            Err(e) => {
                let code =
                    claimdesk_core::central::CentralError::from_sqlx(e, &Default::default()).code();
                assert_eq!(code, claimdesk_core::ErrorCode::QueueEmpty);
                break;
            }
        }
        assert!(drained < 1_000, "the queue should be empty by now");
    }
    for p in pools {
        p.close().await;
    }
    db.cleanup().await;
}
