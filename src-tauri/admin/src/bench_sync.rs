//! `claimdesk-admin bench sync`: the desktop's encrypted cache against the
//! database it is pointed at. Measures the first sync of the queue's head,
//! reading with decryption against the same reads in plaintext, the
//! in-memory search, and how fast one change reaches a second client.

use std::sync::Arc;
use std::time::{Duration, Instant};

use anyhow::{Context, Result};
use chrono::Utc;
use claimdesk_local::cache::{Cache, CacheOwner};
use claimdesk_local::engine::{EngineConfig, SyncEngine};
use claimdesk_local::keychain::KeyRing;
use claimdesk_local::search::QueueIndex;
use claimdesk_local::sync::{self, PullLimits};
use sqlx::postgres::{PgConnectOptions, PgPoolOptions};
use sqlx::sqlite::SqliteConnectOptions;
use sqlx::{Connection, PgConnection, Row};
use uuid::Uuid;

use claimdesk_core::users::StaffRole;

use crate::bench::{drop_login, ms, percentile, temp_login};

/// What to run.
#[derive(Debug, Clone)]
pub struct SyncBench {
    /// Claims of the queue's head to sync.
    pub head: i64,
    /// Rows per batch.
    pub batch: i64,
    /// Changes sent to the second client.
    pub changes: usize,
}

/// Runs the benchmark and prints a report in Markdown.
pub async fn run(owner: &PgConnectOptions, b: &SyncBench) -> Result<()> {
    let mut admin = PgConnection::connect_with(owner).await?;
    let (login, password) = temp_login(&mut admin, StaffRole::Adjudicator).await?;
    let result = run_as(
        &owner.clone().username(&login).password(&password),
        &login,
        b,
        &mut admin,
    )
    .await;
    drop_login(&mut admin, &login).await?;
    result
}

fn median(mut v: Vec<Duration>) -> Duration {
    v.sort();
    percentile(&v, 0.5)
}

async fn run_as(
    options: &PgConnectOptions,
    login: &str,
    b: &SyncBench,
    admin: &mut PgConnection,
) -> Result<()> {
    let central = PgPoolOptions::new()
        .max_connections(4)
        .connect_with(options.clone())
        .await?;
    let dir = tempfile::tempdir()?;
    let owner = CacheOwner {
        login: login.to_string(),
        server: "bench".into(),
    };
    let limits = PullLimits {
        batch: b.batch,
        head: b.head,
    };
    println!("## Sync benchmark\n");

    // 1. First sync of the queue's head into an empty encrypted cache.
    let (cache, _) = Cache::open_with_keys(dir.path(), &owner, KeyRing::fresh()).await?;
    let started = Instant::now();
    let report = sync::pull_queue(&cache, &central, limits, Utc::now(), &mut |_| {}).await?;
    let first = started.elapsed();
    let rows = report.upserted;
    println!("| First sync, batch {} | |\n|---|---|", b.batch);
    println!("| claims | {rows} in {:.2} s |", first.as_secs_f64());
    println!(
        "| rate, end to end | {:.0} rows/s |",
        rows as f64 / first.as_secs_f64()
    );
    let size: u64 = std::fs::read_dir(dir.path())?
        .filter_map(|e| e.ok()?.metadata().ok())
        .map(|m| m.len())
        .sum();
    println!("| cache size | {:.1} MB |", size as f64 / 1e6);

    // 2. Reading every row back: decrypting, against the same reads and
    //    JSON parsing from a plaintext copy (a throwaway file, same rows).
    let claims = cache.queue(i64::MAX).await?;
    let plain_path = dir.path().join("plaintext-comparison.sqlite3");
    let plain = sqlx::SqlitePool::connect_with(
        SqliteConnectOptions::new()
            .filename(&plain_path)
            .create_if_missing(true)
            .journal_mode(sqlx::sqlite::SqliteJournalMode::Wal),
    )
    .await?;
    sqlx::raw_sql(
        "CREATE TABLE queue_claim (id BLOB PRIMARY KEY, claim_type TEXT, status TEXT, priority TEXT,
             priority_rank INTEGER, prompt_pay_due TEXT, received_at TEXT, total_billed TEXT, version INTEGER,
             duplicate_suspect INTEGER, risk_severity TEXT, provider_id BLOB, member_id BLOB, sealed BLOB);
         CREATE INDEX queue_claim_order_idx ON queue_claim (priority_rank, prompt_pay_due, received_at, id);",
    )
    .execute(&plain)
    .await?;
    let mut tx = plain.begin().await?;
    for c in &claims {
        sqlx::query("INSERT INTO queue_claim VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)")
            .bind(c.id.as_bytes().as_slice())
            .bind(&c.claim_type)
            .bind(&c.status)
            .bind(&c.priority)
            .bind(c.priority_rank)
            .bind(c.prompt_pay_due.to_string())
            .bind(c.received_at.to_rfc3339())
            .bind(c.total_billed.to_string())
            .bind(c.version)
            .bind(c.duplicate_suspect)
            .bind(&c.risk_severity)
            .bind(c.provider_id.as_bytes().as_slice())
            .bind(c.member_id.as_bytes().as_slice())
            .bind(serde_json::to_vec(&c.phi)?)
            .execute(&mut *tx)
            .await?;
    }
    tx.commit().await?;
    // Both files checkpointed, so neither read goes through a WAL.
    cache.checkpoint().await?;
    sqlx::query("PRAGMA wal_checkpoint(TRUNCATE)")
        .execute(&plain)
        .await?;
    let mut sealed_runs = Vec::new();
    let mut plain_runs = Vec::new();
    // Interleaved, so drift on a shared machine hits both alike.
    for _ in 0..9 {
        let t = Instant::now();
        let n = cache.queue(i64::MAX).await?.len();
        sealed_runs.push(t.elapsed());
        let t = Instant::now();
        let rows = sqlx::query(
            "SELECT id, claim_type, status, priority, priority_rank, prompt_pay_due, received_at, total_billed,
                    version, duplicate_suspect, risk_severity, provider_id, member_id, sealed
             FROM queue_claim ORDER BY priority_rank, prompt_pay_due, received_at, id LIMIT ?",
        )
        .bind(i64::MAX)
        .fetch_all(&plain)
        .await?;
        // Exactly what the cache's read does per row, minus the decryption.
        let mut parsed = Vec::with_capacity(rows.len());
        for r in &rows {
            let uuid = |col: &str| -> Result<Uuid> {
                Ok(Uuid::from_slice(&r.try_get::<Vec<u8>, _>(col)?)?)
            };
            parsed.push(claimdesk_local::cache::QueueClaim {
                id: uuid("id")?,
                claim_type: r.try_get("claim_type")?,
                status: r.try_get("status")?,
                priority: r.try_get("priority")?,
                priority_rank: r.try_get("priority_rank")?,
                prompt_pay_due: r.try_get::<String, _>("prompt_pay_due")?.parse()?,
                received_at: r.try_get::<String, _>("received_at")?.parse()?,
                total_billed: r.try_get::<String, _>("total_billed")?.parse()?,
                version: r.try_get("version")?,
                duplicate_suspect: r.try_get("duplicate_suspect")?,
                risk_severity: r.try_get("risk_severity")?,
                provider_id: uuid("provider_id")?,
                member_id: uuid("member_id")?,
                phi: serde_json::from_slice(&r.try_get::<Vec<u8>, _>("sealed")?)?,
            });
        }
        let parsed = parsed.len();
        plain_runs.push(t.elapsed());
        anyhow::ensure!(parsed == n, "both reads see every row");
    }
    plain.close().await;
    let (sealed_t, plain_t) = (median(sealed_runs), median(plain_runs));
    println!("\n| Read every cached claim (median of 9) | |\n|---|---|");
    println!(
        "| decrypting (AES-256-GCM per row) | {:.1} ms |",
        ms(sealed_t)
    );
    println!(
        "| plaintext copy, same reads and parsing | {:.1} ms |",
        ms(plain_t)
    );
    println!(
        "| ratio | {:.2}x |",
        sealed_t.as_secs_f64() / plain_t.as_secs_f64()
    );

    // 3. In-memory search over the decrypted queue.
    let t = Instant::now();
    let index = QueueIndex::from_claims(&claims);
    let built = t.elapsed();
    let sample = &claims[claims.len() / 2];
    let surname = sample
        .phi
        .member_name
        .split(',')
        .next()
        .unwrap_or("")
        .to_string();
    let queries = [
        sample.phi.claim_number.clone(),
        surname.clone(),
        format!("{surname} {}", &sample.phi.claim_number[..8]),
        "zzzz-no-such-claim".to_string(),
    ];
    println!(
        "\n| Search over {} cached claims (median of 20) | |\n|---|---|",
        index.len()
    );
    println!(
        "| building the index (after unlock) | {:.1} ms |",
        ms(built)
    );
    let labels = [
        "a claim number",
        "a surname",
        "surname and number prefix",
        "no match (scans everything)",
    ];
    for (q, label) in queries.iter().zip(labels) {
        let mut runs = Vec::new();
        let mut hits = 0;
        for _ in 0..20 {
            let t = Instant::now();
            hits = index.search(q, 200).len();
            runs.push(t.elapsed());
        }
        println!("| {label} ({hits} hits) | {:.2} ms |", ms(median(runs)));
    }

    // 4. One change on central reaching a second client through its engine
    //    (woken by NOTIFY; the poll is set to a minute so it cannot help).
    let dir2 = tempfile::tempdir()?;
    let (cache2, _) = Cache::open_with_keys(dir2.path(), &owner, KeyRing::fresh()).await?;
    sync::pull_queue(&cache2, &central, limits, Utc::now(), &mut |_| {}).await?;
    let engine = SyncEngine::start(
        cache2.clone(),
        central.clone(),
        EngineConfig {
            poll: Duration::from_secs(60),
            limits,
            now: Arc::new(Utc::now),
            map_err: Arc::new(|e| {
                claimdesk_core::central::CentralError::from_sqlx(e, &Default::default()).code()
            }),
            document_cap: claimdesk_local::documents::DEFAULT_CAP,
        },
    );
    tokio::time::sleep(Duration::from_millis(500)).await;
    let mut latencies = Vec::new();
    for i in 0..b.changes {
        let target = &claims[i * 7 % claims.len()];
        let billed = target.total_billed + rust_decimal::Decimal::new(i as i64 + 1, 2);
        let t = Instant::now();
        sqlx::query("UPDATE claimdesk.claim SET total_billed = $2 WHERE id = $1")
            .bind(target.id)
            .bind(billed)
            .execute(&mut *admin)
            .await?;
        loop {
            let seen = cache2.queue_claim(target.id).await?;
            if seen.is_some_and(|c| c.total_billed == billed) {
                break;
            }
            anyhow::ensure!(
                t.elapsed() < Duration::from_secs(30),
                "the change never arrived"
            );
            tokio::time::sleep(Duration::from_millis(2)).await;
        }
        latencies.push(t.elapsed());
        // Restore, and let the engine see that too before the next one.
        sqlx::query("UPDATE claimdesk.claim SET total_billed = $2 WHERE id = $1")
            .bind(target.id)
            .bind(target.total_billed)
            .execute(&mut *admin)
            .await?;
        tokio::time::sleep(Duration::from_millis(300)).await;
    }
    engine.stop().await;
    latencies.sort();
    println!(
        "\n| One change to a second client ({} changes) | |\n|---|---|",
        latencies.len()
    );
    println!(
        "| commit on central to visible in the other cache, p50 / max | {:.0} ms / {:.0} ms |",
        ms(percentile(&latencies, 0.5)),
        ms(*latencies.last().context("no changes measured")?)
    );
    cache2.close().await;
    cache.close().await;
    central.close().await;
    Ok(())
}
