//! A helper for the fault tests: pulls the queue or pushes the outbox of one
//! cache, in small batches, so a test can kill it with SIGKILL mid-way.
//!
//! Usage: sync-worker pull|push CACHE_DIR LOGIN SERVER DATABASE_URL

use chrono::Utc;
use claimdesk_local::cache::{Cache, CacheOwner};
use claimdesk_local::keychain::Keychain;
use claimdesk_local::{outbox, sync};

#[tokio::main]
async fn main() {
    let args: Vec<String> = std::env::args().collect();
    let [_, mode, dir, login, server, url] = args.as_slice() else {
        eprintln!("usage: sync-worker pull|push CACHE_DIR LOGIN SERVER DATABASE_URL");
        std::process::exit(2);
    };
    let owner = CacheOwner {
        login: login.clone(),
        server: server.clone(),
    };
    let keychain = Keychain::platform().await.expect("keychain");
    let (cache, _) = Cache::open(std::path::Path::new(dir), &owner, &keychain)
        .await
        .expect("cache");
    let central = sqlx::postgres::PgPoolOptions::new()
        .max_connections(1)
        .connect(url)
        .await
        .expect("central");
    match mode.as_str() {
        // Small batches: many local transactions to be killed between.
        "pull" => {
            sync::pull_queue(
                &cache,
                &central,
                sync::PullLimits {
                    batch: 25,
                    ..Default::default()
                },
                Utc::now(),
                &mut |_| {},
            )
            .await
            .expect("pull");
        }
        "push" => loop {
            let later = Utc::now() + chrono::Duration::days(1);
            let map = |e: sqlx::Error| {
                claimdesk_core::central::CentralError::from_sqlx(e, &Default::default()).code()
            };
            let report = outbox::push(&cache, &central, &map, later)
                .await
                .expect("push");
            assert_eq!(report.conflicts, 0);
            if outbox::depth(&cache).await.expect("depth") == 0 {
                break;
            }
        },
        other => panic!("unknown mode {other}"),
    }
    cache.close().await;
}
