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
        "SELECT count(*) FROM claimdesk.queue_entry WHERE lease_holder IS NULL AND priority_rank < 4",
    )
    .fetch_one(&db.owner)
    .await
    .unwrap();
    assert_eq!(not_low_left, 0, "higher priorities are handed out first");

    // Leases that lapse return to the queue by themselves.
    let expired: Vec<Uuid> = all[..10].to_vec();
    sqlx::query("UPDATE claimdesk.queue_entry SET lease_expires_at = now() - interval '1 minute' WHERE claim_id = ANY($1)")
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
                assert_eq!(common::error_code(e), claimdesk_core::ErrorCode::QueueEmpty);
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

#[tokio::test]
async fn listing_pages_by_keyset_in_queue_order_with_filters() {
    use claimdesk_core::queue::{self, QueueFilter};

    let mut db = TestDb::new().await;
    let f = fixture(&db.owner).await;
    open_claims(&db, &f, 1_050).await;
    let adjudicator = db.login("adjudicator").await;
    let mut conn = adjudicator.acquire().await.unwrap();

    // Walk every page: no claim twice, none missed, order never goes back.
    let filter = QueueFilter::default();
    let mut after = None;
    let mut seen = HashSet::new();
    let mut last_key = None;
    loop {
        let page = queue::list(&mut conn, &filter, after, 100).await.unwrap();
        let Some(tail) = page.last() else { break };
        after = Some(tail.cursor());
        for row in &page {
            let key = (
                row.priority_rank,
                row.prompt_pay_due,
                row.received_at,
                row.id,
            );
            assert!(last_key.is_none_or(|k| k < key), "out of order");
            last_key = Some(key);
            assert!(seen.insert(row.id), "a claim appeared twice");
        }
    }
    assert_eq!(seen.len(), 1_051);
    let sql = queue::page_query(&filter, None, 100).into_sql();
    assert!(!sql.to_uppercase().contains("OFFSET"), "{sql}");

    let urgent = QueueFilter {
        priorities: vec!["urgent".into()],
        ..Default::default()
    };
    let rows = queue::list(&mut conn, &urgent, None, 1_000).await.unwrap();
    assert!(!rows.is_empty() && rows.iter().all(|r| r.priority == "urgent"));
    let big = QueueFilter {
        min_billed: Some(rust_decimal::Decimal::new(990, 0)),
        ..Default::default()
    };
    let rows = queue::list(&mut conn, &big, None, 1_000).await.unwrap();
    assert!(
        !rows.is_empty()
            && rows
                .iter()
                .all(|r| r.total_billed >= rust_decimal::Decimal::new(990, 0))
    );
    let due = QueueFilter {
        due_before: Some(chrono::NaiveDate::from_ymd_opt(2026, 2, 3).unwrap()),
        ..Default::default()
    };
    let rows = queue::list(&mut conn, &due, None, 1_000).await.unwrap();
    assert!(
        !rows.is_empty()
            && rows
                .iter()
                .all(|r| r.prompt_pay_due <= chrono::NaiveDate::from_ymd_opt(2026, 2, 3).unwrap())
    );
    drop(conn);
    db.cleanup().await;
}

#[tokio::test]
async fn claims_rise_in_priority_as_their_due_date_nears() {
    use claimdesk_core::priority;

    let db = TestDb::new().await;
    let f = fixture(&db.owner).await;
    // The fixture's claim is normal, due 2025-03-31.
    let mut conn = db.owner_connection().await;
    let rules = priority::rules_from_reference(&mut conn).await.unwrap();
    let early = chrono::NaiveDate::from_ymd_opt(2025, 3, 1).unwrap();
    assert_eq!(
        priority::rescore_due(&mut conn, &rules, early)
            .await
            .unwrap(),
        0
    );
    let near = chrono::NaiveDate::from_ymd_opt(2025, 3, 28).unwrap();
    assert_eq!(
        priority::rescore_due(&mut conn, &rules, near)
            .await
            .unwrap(),
        1
    );
    let (p, reasons): (String, serde_json::Value) =
        sqlx::query_as("SELECT priority, priority_reasons FROM claimdesk.claim WHERE id = $1")
            .bind(f.claim)
            .fetch_one(&db.owner)
            .await
            .unwrap();
    assert_eq!(p, "high");
    assert_eq!(reasons[0]["rule"], "prompt_pay_due_soon");
    let late = chrono::NaiveDate::from_ymd_opt(2025, 4, 2).unwrap();
    assert_eq!(
        priority::rescore_due(&mut conn, &rules, late)
            .await
            .unwrap(),
        1
    );
    let p: String = sqlx::query_scalar("SELECT priority FROM claimdesk.claim WHERE id = $1")
        .bind(f.claim)
        .fetch_one(&db.owner)
        .await
        .unwrap();
    assert_eq!(p, "urgent");
    drop(conn);
    db.cleanup().await;
}

#[tokio::test]
async fn the_queue_follows_the_claim_and_a_pended_claim_is_not_checked_out() {
    let mut db = TestDb::new().await;
    let f = fixture(&db.owner).await;
    open_claims(&db, &f, 3).await;
    let adjudicator = db.login("adjudicator").await;
    let entry = |id: Uuid| {
        let owner = db.owner.clone();
        async move {
            sqlx::query_as::<_, (i16, bool, Option<String>)>(
                "SELECT priority_rank, pended, lease_holder FROM claimdesk.queue_entry WHERE claim_id = $1",
            )
            .bind(id)
            .fetch_optional(&owner)
            .await
            .unwrap()
        }
    };

    let (first, version): (Uuid, i32) =
        sqlx::query_as("SELECT claim_id, version FROM claimdesk.claim_checkout()")
            .fetch_one(&adjudicator)
            .await
            .unwrap();
    assert!(entry(first).await.unwrap().2.is_some(), "leased");

    // Pending ends the lease; the claim stays listed but is not handed out.
    sqlx::query("SELECT claimdesk.claim_decide($1, $2, 'pend', '[]', NULL, NULL, NULL, 'records')")
        .bind(first)
        .bind(version)
        .execute(&adjudicator)
        .await
        .unwrap();
    assert_eq!(
        entry(first).await,
        Some((2, true, None)),
        "the highest-priority claim, pended"
    );
    let mut handed_out = Vec::new();
    while let Ok((id,)) =
        sqlx::query_as::<_, (Uuid,)>("SELECT claim_id FROM claimdesk.claim_checkout()")
            .fetch_one(&adjudicator)
            .await
    {
        handed_out.push(id);
    }
    let waiting: i64 = sqlx::query_scalar(
        "SELECT count(*) FROM claimdesk.claim WHERE status IN ('received', 'in_review', 'appealed')",
    )
    .fetch_one(&db.owner)
    .await
    .unwrap();
    assert_eq!(
        handed_out.len() as i64,
        waiting,
        "every other open claim is handed out"
    );
    assert!(
        !handed_out.contains(&first),
        "a pended claim is not checked out"
    );

    // A change of priority moves the claim in the queue; closing it removes it.
    let other = handed_out[0];
    sqlx::query("UPDATE claimdesk.claim SET priority = 'low' WHERE id = $1")
        .bind(other)
        .execute(&db.owner)
        .await
        .unwrap();
    assert_eq!(entry(other).await.map(|e| e.0), Some(4));
    sqlx::query("UPDATE claimdesk.claim SET status = 'void' WHERE id = $1")
        .bind(other)
        .execute(&db.owner)
        .await
        .unwrap();
    assert_eq!(entry(other).await, None);
    // A supervisor cannot hand out a closed claim.
    let supervisor = db.login("supervisor").await;
    let err = sqlx::query("SELECT claimdesk.claim_reassign($1, NULL)")
        .bind(other)
        .execute(&supervisor)
        .await
        .unwrap_err();
    assert_eq!(
        common::error_code(err),
        claimdesk_core::ErrorCode::InvalidTransition
    );
    adjudicator.close().await;
    supervisor.close().await;
    db.cleanup().await;
}
