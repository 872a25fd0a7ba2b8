//! `claimdesk-admin bench dashboard`: the supervisor's team dashboard read
//! against the database it is pointed at, as a supervisor login, for each
//! span; beside it seed 004's `v_claims_dashboard` on the same claims, the
//! baseline the dashboard replaces.

use std::time::{Duration, Instant};

use anyhow::Result;
use chrono::Utc;
use claimdesk_core::dashboard::{self, DashboardSpan};
use claimdesk_core::users::StaffRole;
use sqlx::postgres::PgConnectOptions;
use sqlx::{Connection, PgConnection};

use crate::bench::{drop_login, ms, percentile, temp_login};

/// Seed 004's dashboard view, in this schema's names: a day's claims by
/// status with amounts and processing hours, over 30 days.
const SEED_004_VIEW: &str = "
SELECT date_trunc('day', received_at) AS date, count(*) AS total_claims,
       count(*) FILTER (WHERE status = 'received') AS pending_claims,
       count(*) FILTER (WHERE status = 'approved') AS approved_claims,
       count(*) FILTER (WHERE status = 'denied') AS rejected_claims,
       sum(total_billed) AS total_charged, sum(total_paid) AS total_approved,
       avg(extract(epoch FROM (updated_at - received_at)) / 3600)::numeric(10,2) AS avg_processing_hours
FROM claimdesk.claim WHERE received_at >= current_date - interval '30 days'
GROUP BY 1 ORDER BY 1 DESC";

/// Runs the benchmark and prints a report in Markdown.
pub async fn run(owner: &PgConnectOptions, reads: usize) -> Result<()> {
    let mut admin = PgConnection::connect_with(owner).await?;
    let (login, password) = temp_login(&mut admin, StaffRole::Supervisor).await?;
    let result = run_as(
        &owner.clone().username(&login).password(&password),
        reads,
        &mut admin,
    )
    .await;
    drop_login(&mut admin, &login).await?;
    result
}

fn summary(mut v: Vec<Duration>) -> String {
    v.sort();
    format!(
        "{:.1} | {:.1} | {:.1}",
        ms(percentile(&v, 0.5)),
        ms(percentile(&v, 0.95)),
        ms(*v.last().unwrap_or(&Duration::ZERO))
    )
}

async fn run_as(options: &PgConnectOptions, reads: usize, admin: &mut PgConnection) -> Result<()> {
    let (claims, history, open): (i64, i64, i64) = sqlx::query_as(
        "SELECT (SELECT count(*) FROM claimdesk.claim), (SELECT count(*) FROM claimdesk.claim_status_history),
                (SELECT count(*) FROM claimdesk.queue_entry)",
    )
    .fetch_one(&mut *admin)
    .await?;
    println!("## Team dashboard: {claims} claims, {history} status changes, {open} open\n");
    println!("| Read | p50 ms | p95 ms | max ms |\n|---|---|---|---|");
    let mut conn = PgConnection::connect_with(options).await?;
    let mut baseline = Vec::with_capacity(reads);
    for _ in 0..=reads {
        let began = Instant::now();
        sqlx::query(SEED_004_VIEW).fetch_all(&mut conn).await?;
        baseline.push(began.elapsed());
    }
    baseline.remove(0); // the first read warms the cache
    println!(
        "| Seed 004's v_claims_dashboard (baseline) | {} |",
        summary(baseline)
    );
    for span in [
        DashboardSpan::Day,
        DashboardSpan::Week,
        DashboardSpan::Month,
    ] {
        let mut times = Vec::with_capacity(reads);
        let mut points = 0;
        for _ in 0..=reads {
            let now = Utc::now();
            let began = Instant::now();
            let board = dashboard::team_dashboard(&mut conn, now, now.date_naive(), span).await?;
            times.push(began.elapsed());
            points = board.depth.len();
        }
        times.remove(0);
        println!(
            "| Team dashboard, {span:?} ({points} points) | {} |",
            summary(times)
        );
    }
    println!();
    Ok(())
}
