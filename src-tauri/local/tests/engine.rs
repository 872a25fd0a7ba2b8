//! The sync engine as the app runs it: NOTIFY wakes it, the poll is the
//! fallback, and it reports offline instead of failing.

mod support;

use std::sync::Arc;
use std::time::Duration;

use chrono::Utc;
use claimdesk_core::ErrorCode;
use claimdesk_local::engine::{EngineConfig, SyncEngine, SyncStatus};
use claimdesk_local::outbox::{self, LocalEffect, Mutation};
use sqlx::PgPool;
use support::common;
use tokio::sync::watch;
use uuid::Uuid;

fn config(poll: Duration) -> EngineConfig {
    EngineConfig {
        poll,
        limits: claimdesk_local::sync::PullLimits {
            batch: 500,
            ..Default::default()
        },
        now: Arc::new(Utc::now),
        map_err: Arc::new(common::error_code),
        document_cap: claimdesk_local::documents::DEFAULT_CAP,
    }
}

/// Waits until the status satisfies `ok`, at most `within`.
async fn wait_for(
    status: &mut watch::Receiver<SyncStatus>,
    within: Duration,
    ok: impl Fn(&SyncStatus) -> bool,
) -> Option<SyncStatus> {
    tokio::time::timeout(within, async {
        loop {
            if ok(&status.borrow_and_update()) {
                return status.borrow().clone();
            }
            status.changed().await.unwrap();
        }
    })
    .await
    .ok()
}

async fn priority_in_cache(cache: &claimdesk_local::cache::Cache, id: Uuid) -> String {
    cache
        .queue(100_000)
        .await
        .unwrap()
        .into_iter()
        .find(|c| c.id == id)
        .map(|c| c.priority)
        .unwrap_or_default()
}

async fn some_open_claim(central: &PgPool) -> Uuid {
    sqlx::query_scalar(
        "SELECT id FROM claimdesk.claim WHERE status = 'received' AND priority <> 'urgent' ORDER BY id LIMIT 1",
    )
    .fetch_one(central)
    .await
    .unwrap()
}

#[tokio::test]
async fn a_notify_wakes_the_engine_and_the_poll_catches_what_notify_missed() {
    let mut db = support::seeded(300, 9, 20).await;
    let central = db.login("adjudicator").await;
    let login: String = sqlx::query_scalar("SELECT current_user::text")
        .fetch_one(&central)
        .await
        .unwrap();
    let dir = tempfile::tempdir().unwrap();
    let kc = support::keychain().await;
    let owner = support::owner(&login);
    let (cache, _) = support::open(dir.path(), &owner, &kc).await;

    // A claim this person holds: the engine stores it in full.
    let (leased,): (Uuid,) = sqlx::query_as("SELECT claim_id FROM claimdesk.claim_checkout()")
        .fetch_one(&central)
        .await
        .unwrap();

    // Polling every 10 minutes: only a notification explains a quick update.
    let engine = SyncEngine::start(
        cache.clone(),
        central.clone(),
        config(Duration::from_secs(600)),
    );
    let mut status = engine.status();
    let first = wait_for(&mut status, Duration::from_secs(60), |s| {
        s.online && s.synced_at.is_some() && s.queue_len > 0
    })
    .await
    .expect("the first sync completes");
    assert!(first.queue_len > 0);
    assert_eq!(first.first_sync, None, "progress is cleared when done");
    let stored: i64 = support::scalar_in_file(
        &cache,
        &format!(
            "SELECT count(*) FROM claim_detail WHERE hex(id) = '{}'",
            leased.simple().to_string().to_uppercase()
        ),
    )
    .await;
    assert_eq!(stored, 1, "the leased claim is stored for offline work");

    let claim = some_open_claim(&central).await;
    sqlx::query("UPDATE claimdesk.claim SET priority = 'urgent' WHERE id = $1")
        .bind(claim)
        .execute(&db.owner)
        .await
        .unwrap();
    let mut seen = false;
    for _ in 0..300 {
        if priority_in_cache(&cache, claim).await == "urgent" {
            seen = true;
            break;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    assert!(seen, "the change arrived long before the next poll");
    engine.stop().await;

    // Without notifications (trigger off), a short poll still brings it.
    sqlx::query("ALTER TABLE claimdesk.claim DISABLE TRIGGER notify_change_update")
        .execute(&db.owner)
        .await
        .unwrap();
    let engine = SyncEngine::start(
        cache.clone(),
        central.clone(),
        config(Duration::from_millis(300)),
    );
    let claim2 = sqlx::query_scalar::<_, Uuid>(
        "SELECT id FROM claimdesk.claim WHERE status = 'received' AND priority <> 'urgent' AND id <> $1 ORDER BY id LIMIT 1",
    )
    .bind(claim)
    .fetch_one(&central)
    .await
    .unwrap();
    sqlx::query("UPDATE claimdesk.claim SET priority = 'urgent' WHERE id = $1")
        .bind(claim2)
        .execute(&db.owner)
        .await
        .unwrap();
    let mut seen = false;
    for _ in 0..600 {
        if priority_in_cache(&cache, claim2).await == "urgent" {
            seen = true;
            break;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    assert!(seen, "the poll is the fallback");
    engine.stop().await;
    cache.close().await;
    central.close().await;
    db.cleanup().await;
}

#[tokio::test]
async fn offline_the_engine_says_so_and_the_outbox_waits() {
    let dir = tempfile::tempdir().unwrap();
    let kc = support::keychain().await;
    let owner = support::owner("offline_adjudicator");
    let (cache, _) = support::open(dir.path(), &owner, &kc).await;
    let dead = sqlx::postgres::PgPoolOptions::new()
        .acquire_timeout(Duration::from_secs(1))
        .connect_lazy_with(common::owner_options().port(1));
    let engine = SyncEngine::start(cache.clone(), dead, config(Duration::from_secs(600)));
    let mut status = engine.status();
    let offline = wait_for(&mut status, Duration::from_secs(20), |s| {
        s.last_error.is_some()
    })
    .await
    .expect("the engine reports the failure");
    assert!(!offline.online);
    assert_eq!(offline.last_error, Some(ErrorCode::ServerUnreachable));

    // Work goes on: a note queued offline shows in the outbox depth.
    let note = Mutation::Note {
        claim_id: Uuid::new_v4(),
        body: "called the provider's office".into(),
    };
    outbox::enqueue(&cache, Uuid::now_v7(), &note, LocalEffect::None, Utc::now())
        .await
        .unwrap();
    engine.kick();
    let queued = wait_for(&mut status, Duration::from_secs(20), |s| {
        s.outbox_pending == 1
    })
    .await
    .expect("the status shows the outbox depth");
    assert!(!queued.online);
    engine.stop().await;
    cache.wipe(&owner, &kc).await.unwrap();
}
