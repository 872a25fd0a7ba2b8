//! `claimdesk-admin bench audit`: the audit trail at size. Fills the trail
//! to the asked number of rows (a valid chain in every lane, written with
//! COPY), then times filtered pages, chain verification and appends from
//! concurrent writers.

use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use anyhow::{bail, Context, Result};
use chrono::{DateTime, Utc};
use claimdesk_core::audit::{self, AuditRow, LANES};
use claimdesk_core::audit_trail::{self, AuditFilter};
use claimdesk_core::users::StaffRole;
use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};
use sqlx::postgres::{PgConnectOptions, PgPoolOptions};
use sqlx::{Connection, PgConnection};
use uuid::Uuid;

use crate::bench::{ms, percentile};

/// What to run.
#[derive(Debug, Clone)]
pub struct AuditBench {
    /// Rows the trail should hold before timing.
    pub rows: u64,
    /// Concurrent writers in the append run.
    pub writers: usize,
    /// Length of the append run.
    pub append_for: Duration,
    /// Timed pages per filter.
    pub pages: usize,
    /// Connections the parallel verifier uses.
    pub verify_workers: usize,
}

/// Logins, members, claims and providers the generated rows draw from.
const USERS: usize = 200;
const MEMBERS: usize = 100_000;
const CLAIMS: usize = 400_000;
const PROVIDERS: usize = 5_000;

struct Pools {
    members: Vec<Uuid>,
    claims: Vec<Uuid>,
    providers: Vec<Uuid>,
}

fn pools() -> Pools {
    let mut rng = StdRng::seed_from_u64(17);
    let mut ids = |n: usize| {
        (0..n)
            .map(|_| Uuid::from_u128(rng.gen()))
            .collect::<Vec<_>>()
    };
    Pools {
        members: ids(MEMBERS),
        claims: ids(CLAIMS),
        providers: ids(PROVIDERS),
    }
}

fn user(i: usize) -> (String, &'static str) {
    match i % 20 {
        0 => (format!("supervisor_{i:03}"), "claimdesk_supervisor"),
        1 | 2 => (format!("credentialing_{i:03}"), "claimdesk_credentialing"),
        _ => (format!("adjudicator_{i:03}"), "claimdesk_adjudicator"),
    }
}

/// One generated row: a plausible mix of views, changes and lease events.
/// JSON is written in jsonb's canonical text (keys by length, then bytes),
/// so the hash computed here is the one the verifier recomputes.
fn row(
    rng: &mut StdRng,
    p: &Pools,
    seq: i64,
    lane: i16,
    lane_seq: i64,
    at: DateTime<Utc>,
) -> AuditRow {
    let (db_user, db_role) = user(rng.gen_range(0..USERS));
    let member = p.members[rng.gen_range(0..MEMBERS)];
    let claim = p.claims[rng.gen_range(0..CLAIMS)];
    let roll = rng.gen_range(0..100);
    let (action, resource_type, resource_id, member_id, phi, old, new) = match roll {
        0..=54 => (
            "view",
            "claim",
            claim.to_string(),
            Some(member),
            true,
            None,
            None,
        ),
        55..=64 => (
            "view",
            "document",
            Uuid::from_u128(rng.gen()).to_string(),
            Some(member),
            true,
            None,
            None,
        ),
        65..=79 => (
            "update",
            "claim",
            claim.to_string(),
            Some(member),
            true,
            Some(r#"{"status": "in_review", "version": 2}"#.to_string()),
            Some(r#"{"status": "approved", "version": 3}"#.to_string()),
        ),
        80..=87 => (
            "insert",
            "claim_note",
            Uuid::from_u128(rng.gen()).to_string(),
            Some(member),
            true,
            None,
            Some(format!(r#"{{"claim_id": "{claim}"}}"#)),
        ),
        88..=92 => (
            "release",
            "claim",
            claim.to_string(),
            Some(member),
            false,
            None,
            None,
        ),
        93..=96 => {
            let provider = p.providers[rng.gen_range(0..PROVIDERS)];
            (
                "update",
                "provider_credential",
                Uuid::from_u128(rng.gen()).to_string(),
                None,
                false,
                Some(format!(
                    r#"{{"status": "pending", "provider_id": "{provider}"}}"#
                )),
                Some(format!(
                    r#"{{"status": "verified", "provider_id": "{provider}"}}"#
                )),
            )
        }
        _ => (
            "export",
            "document",
            Uuid::from_u128(rng.gen()).to_string(),
            Some(member),
            true,
            None,
            None,
        ),
    };
    AuditRow {
        seq,
        occurred_at: at,
        db_user,
        db_role: db_role.to_string(),
        action: action.to_string(),
        resource_type: resource_type.to_string(),
        resource_id: Some(resource_id),
        member_id,
        phi_accessed: phi,
        old_values: old,
        new_values: new,
        client_info: format!(
            r#"{{"client": "claimdesk 0.1.0", "client_addr": "10.20.{}.{}", "application_name": "claimdesk"}}"#,
            rng.gen_range(0..8),
            rng.gen_range(1..250)
        ),
        prev_hash: Vec::new(),
        row_hash: Vec::new(),
        lane: Some(lane),
        lane_seq: Some(lane_seq),
    }
}

fn copy_line(out: &mut String, r: &AuditRow) {
    use std::fmt::Write as _;
    // COPY's text format: tabs separate, backslashes escape.
    let esc = |s: &str| {
        s.replace('\\', "\\\\")
            .replace('\t', "\\t")
            .replace('\n', "\\n")
    };
    let _ = writeln!(
        out,
        "{}\t{}\t{}\t{}\t{}\t{}\t{}\t{}\t{}\t{}\t{}\t{}\t\\\\x{}\t\\\\x{}\t{}\t{}",
        r.seq,
        r.occurred_at.format("%Y-%m-%d %H:%M:%S%.6f+00"),
        esc(&r.db_user),
        esc(&r.db_role),
        esc(&r.action),
        esc(&r.resource_type),
        r.resource_id.as_deref().map_or("\\N".into(), esc),
        r.member_id.map_or("\\N".into(), |m| m.to_string()),
        if r.phi_accessed { "t" } else { "f" },
        r.old_values.as_deref().map_or("\\N".into(), esc),
        r.new_values.as_deref().map_or("\\N".into(), esc),
        esc(&r.client_info),
        hex(&r.prev_hash),
        hex(&r.row_hash),
        r.lane.unwrap_or(0),
        r.lane_seq.unwrap_or(r.seq),
    );
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

/// Adds rows until the trail holds `target`, continuing every lane's chain.
async fn fill(conn: &mut PgConnection, target: u64, p: &Pools) -> Result<()> {
    let have: i64 = sqlx::query_scalar("SELECT count(*) FROM claimdesk.audit_log")
        .fetch_one(&mut *conn)
        .await?;
    let missing = target.saturating_sub(have as u64);
    if missing == 0 {
        return Ok(());
    }
    eprintln!("filling the trail: {missing} rows (COPY, chained per lane)");
    let started = Instant::now();
    let mut heads: Vec<(i16, i64, Vec<u8>)> = sqlx::query_as(
        "SELECT lane, last_seq, last_hash FROM claimdesk.audit_chain_head ORDER BY lane",
    )
    .fetch_all(&mut *conn)
    .await?;
    if heads.len() != LANES as usize {
        bail!("expected {LANES} lanes; is the schema migrated?");
    }
    // A year of events, oldest first, ending now.
    let span = Duration::from_secs(365 * 86_400);
    let start = Utc::now() - chrono::Duration::from_std(span)?;
    let mut rng = StdRng::seed_from_u64(have as u64);
    const BATCH: u64 = 50_000;
    let mut done = 0u64;
    while done < missing {
        let n = BATCH.min(missing - done);
        // Reserve n seq numbers.
        let last: i64 = sqlx::query_scalar(
            "SELECT setval('claimdesk.audit_seq', nextval('claimdesk.audit_seq') + $1 - 1)",
        )
        .bind(n as i64)
        .fetch_one(&mut *conn)
        .await?;
        let first = last - n as i64 + 1;
        let mut text = String::with_capacity(n as usize * 420);
        for i in 0..n {
            let seq = first + i as i64;
            let lane = (seq % i64::from(LANES)) as i16;
            let head = &mut heads[lane as usize];
            let frac = (done + i) as f64 / missing as f64;
            let at =
                start + chrono::Duration::microseconds((span.as_micros() as f64 * frac) as i64);
            let mut r = row(&mut rng, p, seq, lane, head.1 + 1, at);
            r.prev_hash = head.2.clone();
            r.row_hash = audit::row_hash(&r.prev_hash, &r).to_vec();
            head.1 += 1;
            head.2 = r.row_hash.clone();
            copy_line(&mut text, &r);
        }
        let mut tx = conn.begin().await?;
        let mut copy = tx
            .copy_in_raw(
                "COPY claimdesk.audit_log (seq, occurred_at, db_user, db_role, action, resource_type, resource_id, \
                 member_id, phi_accessed, old_values, new_values, client_info, prev_hash, row_hash, lane, lane_seq) \
                 FROM STDIN",
            )
            .await?;
        copy.send(text.as_bytes()).await?;
        copy.finish().await?;
        for (lane, last_seq, last_hash) in &heads {
            sqlx::query("UPDATE claimdesk.audit_chain_head SET last_seq = $2, last_hash = $3 WHERE lane = $1")
                .bind(lane)
                .bind(last_seq)
                .bind(last_hash)
                .execute(&mut *tx)
                .await?;
        }
        tx.commit().await?;
        done += n;
        if done % 500_000 < BATCH {
            eprintln!(
                "  {done} rows ({:.0} rows/s)",
                done as f64 / started.elapsed().as_secs_f64()
            );
        }
    }
    sqlx::query("ANALYZE claimdesk.audit_log")
        .execute(&mut *conn)
        .await?;
    eprintln!("filled in {:.0} s", started.elapsed().as_secs_f64());
    Ok(())
}

/// Times `pages` first pages for filters made by `make`, and a page deep in
/// the same filter's results (keyset, after 20 pages).
async fn time_filter(
    conn: &mut PgConnection,
    name: &str,
    pages: usize,
    mut make: impl FnMut(&mut StdRng) -> AuditFilter,
) -> Result<()> {
    let mut rng = StdRng::seed_from_u64(name.len() as u64);
    let mut first = Vec::new();
    let mut deep = Vec::new();
    let mut found = 0usize;
    for _ in 0..pages {
        let filter = make(&mut rng);
        let t = Instant::now();
        let page = audit_trail::page(conn, &filter, None, 50).await?;
        first.push(t.elapsed());
        found += page.entries.len();
        let mut before = page.next_before;
        for _ in 0..20 {
            let Some(b) = before else { break };
            let t = Instant::now();
            let p = audit_trail::page(conn, &filter, Some(b), 50).await?;
            deep.push(t.elapsed());
            before = p.next_before;
        }
    }
    first.sort();
    deep.sort();
    println!(
        "| {name} | {:.1} | {:.1} | {:.1} | {} | {:.1} | {:.1} |",
        ms(percentile(&first, 0.5)),
        ms(percentile(&first, 0.95)),
        ms(*first.last().unwrap_or(&Duration::ZERO)),
        found / pages.max(1),
        ms(percentile(&deep, 0.5)),
        ms(percentile(&deep, 0.95)),
    );
    Ok(())
}

/// Runs the benchmark against the database `options` points at.
pub async fn run(options: &PgConnectOptions, plan: &AuditBench) -> Result<()> {
    let mut conn = PgConnection::connect_with(options)
        .await
        .context("connecting")?;
    let p = pools();
    fill(&mut conn, plan.rows, &p).await?;
    let rows: i64 = sqlx::query_scalar("SELECT count(*) FROM claimdesk.audit_log")
        .fetch_one(&mut conn)
        .await?;
    println!("audit trail: {rows} rows\n");

    // Filtered pages (50 events), first and deep (keyset).
    println!("| Filter | first page p50 ms | p95 | max | events/page | deep page p50 ms | p95 |");
    println!("|---|---|---|---|---|---|---|");
    let now = Utc::now();
    time_filter(&mut conn, "none", plan.pages, |_| AuditFilter::default()).await?;
    time_filter(&mut conn, "member", plan.pages, |r| AuditFilter {
        member_id: Some(p.members[r.gen_range(0..MEMBERS)]),
        ..Default::default()
    })
    .await?;
    time_filter(&mut conn, "claim", plan.pages, |r| AuditFilter {
        claim_id: Some(p.claims[r.gen_range(0..CLAIMS)]),
        ..Default::default()
    })
    .await?;
    time_filter(&mut conn, "provider", plan.pages, |r| AuditFilter {
        provider_id: Some(p.providers[r.gen_range(0..PROVIDERS)]),
        ..Default::default()
    })
    .await?;
    time_filter(&mut conn, "user", plan.pages, |r| AuditFilter {
        user: Some(user(r.gen_range(0..USERS)).0),
        ..Default::default()
    })
    .await?;
    time_filter(&mut conn, "user + PHI + last 30 days", plan.pages, |r| {
        AuditFilter {
            user: Some(user(r.gen_range(0..USERS)).0),
            phi_only: true,
            from: Some(now - chrono::Duration::days(30)),
            ..Default::default()
        }
    })
    .await?;
    time_filter(&mut conn, "role supervisor", plan.pages, |_| AuditFilter {
        role: Some(StaffRole::Supervisor),
        ..Default::default()
    })
    .await?;
    time_filter(&mut conn, "action export", plan.pages, |_| AuditFilter {
        action: Some("export".into()),
        ..Default::default()
    })
    .await?;
    time_filter(&mut conn, "one day, 200 days ago", plan.pages, |r| {
        let day = now - chrono::Duration::days(r.gen_range(150..250));
        AuditFilter {
            from: Some(day),
            to: Some(day + chrono::Duration::days(1)),
            ..Default::default()
        }
    })
    .await?;
    time_filter(&mut conn, "member + action update", plan.pages, |r| {
        AuditFilter {
            member_id: Some(p.members[r.gen_range(0..MEMBERS)]),
            action: Some("update".into()),
            ..Default::default()
        }
    })
    .await?;
    time_filter(
        &mut conn,
        "client address 10.20.3.",
        plan.pages.min(5),
        |_| AuditFilter {
            client: Some("10.20.3.".into()),
            ..Default::default()
        },
    )
    .await?;

    // Chain verification.
    let pool = PgPoolOptions::new()
        .max_connections(plan.verify_workers as u32 + 1)
        .connect_with(options.clone())
        .await?;
    let t = Instant::now();
    let report = audit::verify_parallel(&pool, plan.verify_workers).await?;
    let secs = t.elapsed().as_secs_f64();
    if report.first_break.is_some() {
        bail!(
            "the generated trail does not verify: {:?}",
            report.first_break
        );
    }
    println!(
        "\nverification, {} runs in one snapshot: {} rows in {secs:.2} s = {:.0} rows/s",
        plan.verify_workers,
        report.rows_checked,
        f64::from(report.rows_checked) / secs
    );
    let t = Instant::now();
    let one = audit::verify(&mut conn).await?;
    let secs = t.elapsed().as_secs_f64();
    println!(
        "verification, one connection: {} rows in {secs:.2} s = {:.0} rows/s",
        one.rows_checked,
        f64::from(one.rows_checked) / secs
    );

    // Appends from concurrent writers, each its own connection and transaction.
    let stop = Arc::new(AtomicBool::new(false));
    let count = Arc::new(AtomicU64::new(0));
    let mut handles = Vec::new();
    for w in 0..plan.writers {
        let options = options.clone();
        let (stop, count) = (stop.clone(), count.clone());
        let member = p.members[w];
        handles.push(tokio::spawn(async move {
            let mut conn = PgConnection::connect_with(&options).await?;
            let mut lat = Vec::new();
            while !stop.load(Ordering::Relaxed) {
                let t = Instant::now();
                sqlx::query("SELECT claimdesk.audit_append('view', 'claim', $1, $2, true)")
                    .bind(Uuid::now_v7().to_string())
                    .bind(member)
                    .execute(&mut conn)
                    .await?;
                lat.push(t.elapsed());
                count.fetch_add(1, Ordering::Relaxed);
            }
            Ok::<_, sqlx::Error>(lat)
        }));
    }
    let t = Instant::now();
    tokio::time::sleep(plan.append_for).await;
    stop.store(true, Ordering::Relaxed);
    let mut lat = Vec::new();
    for h in handles {
        lat.extend(h.await??);
    }
    let secs = t.elapsed().as_secs_f64();
    lat.sort();
    println!(
        "appends, {} writers for {:.0} s: {} events = {:.0} events/s (p50 {:.1} ms, p95 {:.1} ms)",
        plan.writers,
        secs,
        count.load(Ordering::Relaxed),
        count.load(Ordering::Relaxed) as f64 / secs,
        ms(percentile(&lat, 0.5)),
        ms(percentile(&lat, 0.95)),
    );
    let after = audit::verify_parallel(&pool, plan.verify_workers).await?;
    if after.first_break.is_some() {
        bail!(
            "the trail does not verify after the appends: {:?}",
            after.first_break
        );
    }
    println!(
        "chain intact after the appends ({} rows)",
        after.rows_checked
    );
    Ok(())
}
