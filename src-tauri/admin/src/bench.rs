//! `claimdesk-admin bench queue`: the work queue under load, against the
//! database it is pointed at, with seed 001's OFFSET query as the baseline.

use std::collections::HashSet;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use anyhow::{Context, Result};
use claimdesk_core::users::StaffRole;
use rand::Rng;
use sqlx::postgres::PgConnectOptions;
use sqlx::{Connection, PgConnection};
use uuid::Uuid;

/// What to run.
#[derive(Debug, Clone)]
pub struct QueueBench {
    /// Closed-loop clients (each checks out as fast as it can).
    pub clients: usize,
    /// Checkouts in the closed-loop run.
    pub checkouts: u64,
    /// Clients in the paced run (a floor of adjudicators).
    pub paced_clients: usize,
    /// Mean think time between a paced client's checkouts.
    pub think: Duration,
    /// How long the paced run lasts.
    pub paced_for: Duration,
}

pub(crate) fn percentile(sorted: &[Duration], p: f64) -> Duration {
    if sorted.is_empty() {
        return Duration::ZERO;
    }
    let i = ((sorted.len() as f64 - 1.0) * p).round() as usize;
    sorted[i]
}

pub(crate) fn ms(d: Duration) -> f64 {
    d.as_secs_f64() * 1000.0
}

/// Checkouts in the one-client run.
const SOLO_CHECKOUTS: usize = 2_000;

async fn checkout(conn: &mut PgConnection) -> Result<Uuid> {
    let (id,): (Uuid,) = sqlx::query_as("SELECT claim_id FROM claimdesk.claim_checkout()")
        .fetch_one(conn)
        .await?;
    Ok(id)
}

/// Returns every leased claim to the queue, so runs start and end alike.
async fn release_all_leases(conn: &mut PgConnection) -> Result<()> {
    sqlx::query("UPDATE claimdesk.queue_entry SET lease_holder = NULL, lease_expires_at = NULL, leased_at = NULL
         WHERE lease_holder IS NOT NULL")
        .execute(conn)
        .await?;
    Ok(())
}

/// Runs the benchmark and prints a report in Markdown. Clients connect as a
/// temporary adjudicator login, as real desktops would; it is dropped after.
pub async fn run(owner: &PgConnectOptions, b: &QueueBench) -> Result<()> {
    let mut admin = PgConnection::connect_with(owner).await?;
    let (login, password) = temp_login(&mut admin, StaffRole::Adjudicator).await?;
    let result = run_as(
        &owner.clone().username(&login).password(&password),
        b,
        &mut admin,
    )
    .await;
    drop_login(&mut admin, &login).await?;
    result
}

/// A throwaway login in `role` with a random password, for benchmarks.
pub async fn temp_login(
    admin: &mut PgConnection,
    role: claimdesk_core::users::StaffRole,
) -> Result<(String, String)> {
    let login = format!("bench_{role}_{}", std::process::id());
    let password: String = rand::thread_rng()
        .sample_iter(&rand::distributions::Alphanumeric)
        .take(24)
        .map(char::from)
        .collect();
    claimdesk_core::users::add_user(
        admin,
        &login,
        &claimdesk_core::Secret::new(password.clone()),
        role,
        false,
    )
    .await?;
    Ok((login, password))
}

/// Drops a login [`temp_login`] made.
pub async fn drop_login(admin: &mut PgConnection, login: &str) -> Result<()> {
    sqlx::raw_sql(&format!("DROP ROLE IF EXISTS \"{login}\""))
        .execute(admin)
        .await?;
    Ok(())
}

async fn run_as(
    options: &PgConnectOptions,
    b: &QueueBench,
    admin: &mut PgConnection,
) -> Result<()> {
    let (claims, open): (i64, i64) = sqlx::query_as(
        "SELECT count(*), count(*) FILTER (WHERE status IN ('received', 'in_review', 'appealed'))
         FROM claimdesk.claim",
    )
    .fetch_one(&mut *admin)
    .await?;
    // Start from a queue with no leases, so runs are comparable.
    release_all_leases(admin).await?;
    sqlx::raw_sql("VACUUM ANALYZE claimdesk.queue_entry")
        .execute(&mut *admin)
        .await?;
    let checkouts = b.checkouts.min(open as u64);
    println!("## Queue benchmark\n");
    println!("Database: {claims} claims, {open} open. Closed loop: {} clients, {checkouts} checkouts. Paced: {} clients, mean think {} ms, {} s.\n",
        b.clients, b.paced_clients, b.think.as_millis(), b.paced_for.as_secs());

    // Baseline: seed 001's payer-queue page at several depths.
    println!(
        "| Seed 001 queue page (`ORDER BY CASE priority … LIMIT 20 OFFSET k`) | median of 3 |"
    );
    println!("|---|---|");
    let mut baseline_deep = Duration::ZERO;
    for depth in [0i64, 10_000, 100_000] {
        let mut times = Vec::new();
        for _ in 0..3 {
            let started = Instant::now();
            sqlx::query(
                "SELECT * FROM claimdesk.claim WHERE status IN ('received', 'in_review', 'appealed')
                 ORDER BY CASE priority WHEN 'urgent' THEN 1 WHEN 'high' THEN 2 WHEN 'normal' THEN 3 ELSE 4 END,
                          received_at DESC
                 LIMIT 20 OFFSET $1",
            )
            .bind(depth)
            .fetch_all(&mut *admin)
            .await?;
            times.push(started.elapsed());
        }
        times.sort();
        println!("| OFFSET {depth} | {:.1} ms |", ms(times[1]));
        baseline_deep = times[1];
    }

    // Paced first, on a queue in its everyday state: a floor of adjudicators,
    // each taking a claim after some thought.
    let stop_at = Instant::now() + b.paced_for;
    let mut tasks = Vec::new();
    for _ in 0..b.paced_clients {
        let options = options.clone();
        let think = b.think;
        tasks.push(tokio::spawn(async move {
            let mut conn = PgConnection::connect_with(&options).await?;
            let mut lat = Vec::new();
            let mut ids = Vec::new();
            // Stagger the first checkout across one think time.
            let first = rand::thread_rng().gen_range(0.0..1.0) * think.as_secs_f64();
            tokio::time::sleep(Duration::from_secs_f64(first)).await;
            while Instant::now() < stop_at {
                let t = Instant::now();
                ids.push(checkout(&mut conn).await?);
                lat.push(t.elapsed());
                // Exponential think time around the mean: arrivals like a real floor.
                let u: f64 = rand::thread_rng().gen_range(1e-6..1.0);
                tokio::time::sleep(Duration::from_secs_f64(-u.ln() * think.as_secs_f64())).await;
            }
            conn.close().await?;
            anyhow::Ok((lat, ids))
        }));
    }
    let mut lat = Vec::new();
    let mut paced_ids = Vec::new();
    for t in tasks {
        let (l, i) = t.await.context("a client task failed")??;
        lat.extend(l);
        paced_ids.extend(i);
    }
    lat.sort();
    let paced_ids_set: HashSet<Uuid> = paced_ids.iter().copied().collect();
    println!(
        "\n| Paced, {} clients, mean think {} ms | |",
        b.paced_clients,
        b.think.as_millis()
    );
    println!("|---|---|");
    println!(
        "| checkouts | {} ({:.1} /s) |",
        lat.len(),
        lat.len() as f64 / b.paced_for.as_secs_f64()
    );
    println!(
        "| latency p50 / p99 / max | {:.2} ms / {:.2} ms / {:.2} ms |",
        ms(percentile(&lat, 0.5)),
        ms(percentile(&lat, 0.99)),
        ms(*lat.last().unwrap_or(&Duration::ZERO))
    );
    println!(
        "| claims leased twice | {} |",
        paced_ids.len() - paced_ids_set.len()
    );

    // Closed loop: every client checks out back to back until the total is reached.
    let issued = Arc::new(AtomicU64::new(0));
    let started = Instant::now();
    let mut tasks = Vec::new();
    for _ in 0..b.clients {
        let issued = issued.clone();
        let options = options.clone();
        let total = checkouts;
        tasks.push(tokio::spawn(async move {
            let mut conn = PgConnection::connect_with(&options).await?;
            let mut seen = Vec::new();
            while issued.fetch_add(1, Ordering::Relaxed) < total {
                let t = Instant::now();
                let id = checkout(&mut conn).await?;
                seen.push((started.elapsed(), t.elapsed(), id));
            }
            conn.close().await?;
            anyhow::Ok(seen)
        }));
    }
    let mut events = Vec::new();
    for t in tasks {
        events.extend(t.await.context("a client task failed")??);
    }
    let elapsed = started.elapsed();
    events.sort_by_key(|e| e.0);
    let ids: HashSet<Uuid> = events.iter().map(|e| e.2).collect();
    // Leased twice: within the closed loop, or once by each run.
    let twice = events.len() - ids.len() + paced_ids.iter().filter(|id| ids.contains(id)).count();
    let window = 10_000.min(events.len() / 2).max(1);
    let rate_of = |slice: &[(Duration, Duration, Uuid)]| {
        let span = slice
            .last()
            .unwrap()
            .0
            .saturating_sub(slice.first().unwrap().0);
        slice.len() as f64 / span.as_secs_f64().max(1e-9)
    };
    let first = rate_of(&events[..window]);
    let last = rate_of(&events[events.len() - window..]);
    let series: Vec<String> = events
        .chunks(window)
        .filter(|c| c.len() == window)
        .map(|c| format!("{:.0}", rate_of(c)))
        .collect();
    let mut lat: Vec<Duration> = events.iter().map(|e| e.1).collect();
    lat.sort();
    let closed_p50 = percentile(&lat, 0.5);
    println!("\n| Closed loop, {} clients | |", b.clients);
    println!("|---|---|");
    println!(
        "| checkouts | {} in {:.1} s |",
        events.len(),
        elapsed.as_secs_f64()
    );
    println!(
        "| throughput, overall | {:.0} /s |",
        events.len() as f64 / elapsed.as_secs_f64()
    );
    println!(
        "| throughput, first {window} / last {window} | {first:.0} /s / {last:.0} /s ({:+.1} %) |",
        (last / first - 1.0) * 100.0
    );
    println!(
        "| throughput, each {window} in turn | {} /s |",
        series.join(", ")
    );
    println!(
        "| latency p50 / p99 | {:.2} ms / {:.2} ms |",
        ms(closed_p50),
        ms(percentile(&lat, 0.99))
    );
    println!("| claims leased twice | {twice} |");

    // One adjudicator alone: what a single checkout costs, without queueing
    // behind others. This is the like-for-like comparison with one seed query.
    let mut conn = PgConnection::connect_with(options).await?;
    let mut lat = Vec::new();
    for _ in 0..SOLO_CHECKOUTS {
        let t = Instant::now();
        checkout(&mut conn).await?;
        lat.push(t.elapsed());
    }
    conn.close().await?;
    lat.sort();
    let solo_p50 = percentile(&lat, 0.5);
    println!("\n| One client, {SOLO_CHECKOUTS} checkouts in a row | |");
    println!("|---|---|");
    println!(
        "| latency p50 / p99 | {:.2} ms / {:.2} ms |",
        ms(solo_p50),
        ms(percentile(&lat, 0.99))
    );
    println!(
        "\nSpeed-up of one checkout (one client, p50) over the seed query at OFFSET 100000: {:.0}x",
        baseline_deep.as_secs_f64() / solo_p50.as_secs_f64().max(1e-9)
    );

    // Leave the queue as we found it.
    release_all_leases(admin).await?;
    Ok(())
}
