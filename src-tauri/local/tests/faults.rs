//! Faults: connections cut at random points during pull and push, and a
//! process killed with SIGKILL mid-batch. After recovery nothing is lost,
//! nothing is applied twice, and the cursor is consistent.

mod support;

use std::collections::BTreeMap;
use std::time::Duration;

use chrono::Utc;
use claimdesk_local::cache::Cache;
use claimdesk_local::outbox::{self, LocalEffect, Mutation};
use claimdesk_local::sync;
use sqlx::PgPool;
use support::common::{self, TestDb};
use support::proxy::CuttingProxy;
use uuid::Uuid;

const PASSWORD: &str = "pw-for-tests";

/// A pool logged in as `login`, through the proxy.
fn through(proxy: &CuttingProxy, db: &TestDb, login: &str) -> PgPool {
    sqlx::postgres::PgPoolOptions::new()
        .max_connections(2)
        .acquire_timeout(Duration::from_secs(5))
        .connect_lazy_with(
            db.options()
                .host("127.0.0.1")
                .port(proxy.addr.port())
                .username(login)
                .password(PASSWORD),
        )
}

fn upstream() -> std::net::SocketAddr {
    format!("127.0.0.1:{}", common::owner_options().get_port())
        .parse()
        .unwrap()
}

/// The open queue as central has it, and as the cache has it.
async fn central_queue(owner: &PgPool) -> BTreeMap<Uuid, (String, String, i64)> {
    let rows: Vec<(Uuid, String, String, i32)> = sqlx::query_as(
        "SELECT id, status, priority, version FROM claimdesk.claim
         WHERE status IN ('received', 'in_review', 'appealed', 'pended') AND NOT restricted",
    )
    .fetch_all(owner)
    .await
    .unwrap();
    rows.into_iter()
        .map(|(id, s, p, v)| (id, (s, p, i64::from(v))))
        .collect()
}

async fn cached_queue(cache: &Cache) -> BTreeMap<Uuid, (String, String, i64)> {
    cache
        .queue(1_000_000)
        .await
        .unwrap()
        .into_iter()
        .map(|c| (c.id, (c.status, c.priority, c.version)))
        .collect()
}

/// Pulls through a cutting connection until a pull completes; returns the
/// number of failed attempts.
async fn pull_through_cuts(cache: &Cache, central: &PgPool, proxy: &CuttingProxy) -> u32 {
    let mut failures = 0;
    loop {
        match sync::pull_queue(
            cache,
            central,
            sync::PullLimits {
                batch: 60,
                ..Default::default()
            },
            Utc::now(),
            &mut |_| {},
        )
        .await
        {
            Ok(_) => return failures,
            Err(sync::SyncError::Central(_)) => {
                failures += 1;
                // After many cuts the network recovers, so the test ends.
                if failures == 40 {
                    proxy.heal();
                }
            }
            Err(e) => panic!("the cache failed: {e}"),
        }
    }
}

/// Leases `n` claims and returns approvals for them, as the app would queue.
async fn approvals(direct: &PgPool, n: usize) -> Vec<(Uuid, i32, Mutation)> {
    let mut out = Vec::new();
    for _ in 0..n {
        let (id, version): (Uuid, i32) =
            sqlx::query_as("SELECT claim_id, version FROM claimdesk.claim_checkout()")
                .fetch_one(direct)
                .await
                .unwrap();
        let lines: serde_json::Value = sqlx::query_scalar(
            "SELECT jsonb_agg(jsonb_build_object('line_number', line_number, 'allowed', billed, 'deductible', '0',
                    'copay', '0', 'coinsurance', '0', 'paid', billed, 'rarc', '[]'::jsonb,
                    'adjustments', '[]'::jsonb) ORDER BY line_number)
             FROM claimdesk.claim_line WHERE claim_id = $1",
        )
        .bind(id)
        .fetch_one(direct)
        .await
        .unwrap();
        out.push((
            id,
            version,
            Mutation::Decide {
                claim_id: id,
                version,
                decision: "approve".into(),
                lines,
                denial_group_code: None,
                denial_carc: None,
                explanation: Some("paid as billed".into()),
                pend_reason: None,
                override_reason: None,
                priced_against: None,
            },
        ));
    }
    out
}

/// Each claim approved exactly once, at the version after the one decided on.
async fn assert_applied_once(owner: &PgPool, decided: &[(Uuid, i32, Mutation)]) {
    for (id, version, _) in decided {
        let (status, now_version, approvals): (String, i32, i64) = sqlx::query_as(
            "SELECT status, version, (SELECT count(*) FROM claimdesk.claim_status_history h
                                      WHERE h.claim_id = c.id AND h.to_status = 'approved')
             FROM claimdesk.claim c WHERE id = $1",
        )
        .bind(id)
        .fetch_one(owner)
        .await
        .unwrap();
        assert_eq!(
            (status.as_str(), now_version, approvals),
            ("approved", version + 1, 1),
            "claim {id}"
        );
    }
}

#[tokio::test]
async fn cut_connections_during_pull_and_push_lose_nothing_and_apply_nothing_twice() {
    // Several seeds: each replays a different pattern of cuts.
    for seed in [11u64, 23, 37] {
        let mut db = support::seeded(900, seed, 30).await;
        common::lease_away_unpayable(&db.owner).await;
        let direct = db.login("adjudicator").await;
        let login: String = sqlx::query_scalar("SELECT current_user::text")
            .fetch_one(&direct)
            .await
            .unwrap();
        // TLS and login take a few kilobytes; a batch of claims tens more.
        let proxy = CuttingProxy::start(upstream(), 3_000..40_000, seed).await;
        let central = through(&proxy, &db, &login);
        let dir = tempfile::tempdir().unwrap();
        let kc = support::keychain().await;
        let owner = support::owner(&login);
        let (cache, _) = support::open(dir.path(), &owner, &kc).await;

        // First sync through cuts.
        let failed = pull_through_cuts(&cache, &central, &proxy).await;
        assert_eq!(
            cached_queue(&cache).await,
            central_queue(&db.owner).await,
            "seed {seed}"
        );

        // Decisions queued, then pushed through cuts (a cut after central
        // committed but before the answer came back makes a repeat).
        let decided = approvals(&direct, 25).await;
        for (_, _, m) in &decided {
            outbox::enqueue(
                &cache,
                Uuid::now_v7(),
                m,
                LocalEffect::LeaveQueue,
                Utc::now(),
            )
            .await
            .unwrap();
        }
        // Tighter budgets here: connections die mid-answer, after central
        // committed, which is what makes a send repeat.
        let push_proxy = CuttingProxy::start(upstream(), 4_000..9_000, seed).await;
        let push_central = through(&push_proxy, &db, &login);
        let mut pushes = 0;
        let mut repeats = 0;
        while outbox::depth(&cache).await.unwrap() > 0 {
            // Far in the future: skip the backoff, this test is about cuts.
            let later = Utc::now() + chrono::Duration::hours(pushes + 1);
            let r = outbox::push(&cache, &push_central, &common::error_code, later)
                .await
                .unwrap();
            repeats += r.repeats;
            assert_eq!(r.conflicts, 0, "a cut is never a conflict");
            pushes += 1;
            if pushes == 150 {
                push_proxy.heal();
            }
            assert!(pushes < 300, "the outbox drains");
        }
        assert_applied_once(&db.owner, &decided).await;
        let applied: i64 = sqlx::query_scalar("SELECT count(*) FROM claimdesk.applied_mutation")
            .fetch_one(&db.owner)
            .await
            .unwrap();
        assert_eq!(applied, 25);

        // Changes on central, pulled through cuts.
        sqlx::query(
            "UPDATE claimdesk.claim SET priority = 'high'
             WHERE id IN (SELECT id FROM claimdesk.claim WHERE status = 'received' ORDER BY id LIMIT 80)",
        )
        .execute(&db.owner)
        .await
        .unwrap();
        pull_through_cuts(&cache, &central, &proxy).await;
        // The feed is cluster-wide: other tests' transactions may hold changes
        // back for a moment. Pull (healed) until nothing is left to apply.
        proxy.heal();
        for _ in 0..300 {
            if cached_queue(&cache).await == central_queue(&db.owner).await {
                break;
            }
            sync::pull_queue(
                &cache,
                &central,
                sync::PullLimits {
                    batch: 500,
                    ..Default::default()
                },
                Utc::now(),
                &mut |_| {},
            )
            .await
            .unwrap();
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
        assert_eq!(
            cached_queue(&cache).await,
            central_queue(&db.owner).await,
            "seed {seed}"
        );
        // The cursor is consistent: nothing more to apply.
        let idle = sync::pull_queue(
            &cache,
            &central,
            sync::PullLimits {
                batch: 500,
                ..Default::default()
            },
            Utc::now(),
            &mut |_| {},
        )
        .await
        .unwrap();
        assert_eq!(idle, sync::PullReport::default());
        let cuts = proxy.cuts.load(std::sync::atomic::Ordering::Relaxed);
        assert!(cuts > 3, "seed {seed}: the proxy cut {cuts} connections");
        eprintln!("seed {seed}: {cuts} cuts, {failed} failed first-sync pulls, {pushes} pushes, {repeats} repeats");

        cache.wipe(&owner, &kc).await.unwrap();
        central.close().await;
        push_central.close().await;
        direct.close().await;
        db.cleanup().await;
    }
}

fn worker() -> std::process::Command {
    std::process::Command::new(env!("CARGO_BIN_EXE_sync-worker"))
}

#[tokio::test]
async fn a_process_killed_mid_batch_resumes_without_loss_or_repeats() {
    let mut db = support::seeded(1_500, 41, 30).await;
    common::lease_away_unpayable(&db.owner).await;
    let direct = db.login("adjudicator").await;
    let login: String = sqlx::query_scalar("SELECT current_user::text")
        .fetch_one(&direct)
        .await
        .unwrap();
    let dir = tempfile::tempdir().unwrap();
    let kc = support::keychain().await;
    let owner = support::owner(&login);
    let (cache, _) = support::open(dir.path(), &owner, &kc).await;
    cache.close().await;
    let url = format!(
        "postgres://{login}:{PASSWORD}@127.0.0.1:{}/{}",
        common::owner_options().get_port(),
        db.name
    );
    let run = |mode: &str| {
        let mut c = worker();
        c.args([
            mode,
            dir.path().to_str().unwrap(),
            &owner.login,
            &owner.server,
            &url,
        ]);
        c
    };

    // Pull, killed at several points, then run to the end.
    for delay in [150u64, 400, 700] {
        let mut child = run("pull").spawn().unwrap();
        tokio::time::sleep(Duration::from_millis(delay)).await;
        child.kill().unwrap(); // SIGKILL
        child.wait().unwrap();
    }
    assert!(run("pull").status().unwrap().success());
    let (cache, opened) = support::open(dir.path(), &owner, &kc).await;
    assert_eq!(
        opened,
        claimdesk_local::cache::Opened::Existing,
        "a kill never corrupts the cache"
    );
    assert_eq!(cached_queue(&cache).await, central_queue(&db.owner).await);

    // Push, killed mid-way, then run to the end.
    let decided = approvals(&direct, 30).await;
    for (_, _, m) in &decided {
        outbox::enqueue(
            &cache,
            Uuid::now_v7(),
            m,
            LocalEffect::LeaveQueue,
            Utc::now(),
        )
        .await
        .unwrap();
    }
    cache.close().await;
    for delay in [100u64, 250] {
        let mut child = run("push").spawn().unwrap();
        tokio::time::sleep(Duration::from_millis(delay)).await;
        child.kill().unwrap();
        child.wait().unwrap();
    }
    assert!(run("push").status().unwrap().success());
    let (cache, _) = support::open(dir.path(), &owner, &kc).await;
    assert_eq!(
        outbox::depth(&cache).await.unwrap(),
        0,
        "every decision sent"
    );
    assert_applied_once(&db.owner, &decided).await;
    cache.wipe(&owner, &kc).await.unwrap();
    direct.close().await;
    db.cleanup().await;
}
