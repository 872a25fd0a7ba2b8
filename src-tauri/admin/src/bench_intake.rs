//! `claimdesk-admin bench intake`: an 837P of N claims written from the
//! database's own members and providers (so they are taken), then read by
//! the parser alone on one core, then imported end to end (parse, check,
//! write, score, answer) into the database it is pointed at.

use std::path::PathBuf;
use std::time::Instant;

use anyhow::{Context, Result};
use chrono::{Duration, NaiveDate, Utc};
use claimdesk_core::intake::{self, IntakeOptions};
use claimdesk_core::x12::model::ClaimKind;
use claimdesk_core::x12::parse::{self, Event};
use claimdesk_core::x12::reader::ReadError;
use claimdesk_core::x12::write837::{self, ClaimSpec, FileSpec, LineSpec};
use rust_decimal::Decimal;
use sqlx::PgPool;

/// Writes the file; returns its path and size.
pub async fn generate(pool: &PgPool, claims: usize, per_set: usize, out: &PathBuf) -> Result<u64> {
    let service = Utc::now().date_naive() - Duration::days(10);
    let members: Vec<(String, String, String, NaiveDate, String)> = sqlx::query_as(
        "SELECT m.member_number, m.last_name, m.first_name, m.date_of_birth, m.gender
         FROM claimdesk.member m JOIN claimdesk.coverage_period c ON c.member_id = m.id
         WHERE c.status = 'active' AND c.effective_date <= $1 AND (c.termination_date IS NULL OR c.termination_date >= $1)
           AND m.status = 'active' AND NOT m.restricted
         ORDER BY m.member_number LIMIT 20000",
    )
    .bind(service)
    .fetch_all(pool)
    .await?;
    let providers: Vec<(String, String)> = sqlx::query_as(
        "SELECT npi, coalesce(organization_name, last_name) FROM claimdesk.provider WHERE status = 'active'
         ORDER BY npi LIMIT 200",
    )
    .fetch_all(pool)
    .await?;
    let cpts: Vec<String> = sqlx::query_scalar(
        "SELECT code FROM claimdesk.cpt_code WHERE NOT is_emergency ORDER BY code LIMIT 20",
    )
    .fetch_all(pool)
    .await?;
    let icd: Vec<String> = sqlx::query_scalar(
        "SELECT replace(code, '.', '') FROM claimdesk.icd10_code ORDER BY code LIMIT 30",
    )
    .fetch_all(pool)
    .await?;
    anyhow::ensure!(
        !members.is_empty() && !providers.is_empty() && !cpts.is_empty() && !icd.is_empty(),
        "the database needs members with coverage, providers and codes: run `claimdesk-admin seed` first"
    );
    let run = Utc::now().format("%H%M%S").to_string();
    let specs: Vec<ClaimSpec> = (0..claims)
        .map(|i| {
            let (number, last, first, dob, gender) = &members[i % members.len()];
            let (npi, name) = &providers[(i / 7) % providers.len()];
            let a = Decimal::new(7500 + (i as i64 % 97) * 100, 2);
            let b = Decimal::new(4200 + (i as i64 % 13) * 100, 2);
            let line = |cpt: &String, charge| LineSpec {
                procedure: cpt.clone(),
                modifiers: vec![],
                revenue_code: None,
                charge,
                units: Decimal::ONE,
                pointers: vec![1],
                date: service,
            };
            ClaimSpec {
                patient_account: format!("B{run}{i:07}"),
                member_id: number.clone(),
                last_name: last.clone(),
                first_name: first.clone(),
                date_of_birth: *dob,
                gender: gender
                    .chars()
                    .next()
                    .filter(|g| "FMU".contains(*g))
                    .unwrap_or('U')
                    .to_string(),
                billing_npi: npi.clone(),
                billing_name: name.clone(),
                facility: "11".into(),
                frequency: "1".into(),
                original: None,
                diagnoses: vec![icd[i % icd.len()].clone(), icd[(i + 7) % icd.len()].clone()],
                attachments: vec![],
                lines: vec![
                    line(&cpts[i % cpts.len()], a),
                    line(&cpts[(i + 3) % cpts.len()], b),
                ],
                total: None,
            }
        })
        .collect();
    let mut file = std::io::BufWriter::new(
        std::fs::File::create(out).with_context(|| format!("{}", out.display()))?,
    );
    let control = (Utc::now().timestamp() % 1_000_000_000) as u32;
    write837::write(
        &mut file,
        &FileSpec {
            sender: format!("BENCH{run}"),
            receiver: "CLAIMDESK".into(),
            control,
            kind: ClaimKind::Professional,
            claims_per_set: per_set,
            date: Utc::now().date_naive(),
        },
        &specs,
    )?;
    drop(file);
    Ok(std::fs::metadata(out)?.len())
}

/// Runs the benchmark and prints a report in Markdown.
pub async fn run(
    pool: &PgPool,
    claims: usize,
    per_set: usize,
    keep: Option<PathBuf>,
) -> Result<()> {
    let dir = tempfile_dir()?;
    let path = keep.unwrap_or_else(|| dir.join("bench.837"));
    let started = Instant::now();
    let size = generate(pool, claims, per_set, &path).await?;
    println!(
        "wrote {} ({:.1} MB, {claims} claims, {per_set} per set) in {:.1} s",
        path.display(),
        size as f64 / 1e6,
        started.elapsed().as_secs_f64()
    );

    // The parser alone, on this thread (one core), best of three.
    let mut best = f64::MAX;
    let mut read = 0usize;
    for _ in 0..3 {
        let t = Instant::now();
        let mut n = 0usize;
        parse::read::<_, ReadError>(
            std::io::BufReader::with_capacity(1 << 20, std::fs::File::open(&path)?),
            |e| {
                if let Event::Set(s) = e {
                    n += s.claims.len();
                }
                Ok(())
            },
            |_| {},
        )?;
        best = best.min(t.elapsed().as_secs_f64());
        read = n;
    }
    anyhow::ensure!(read == claims, "the parser read {read} of {claims} claims");

    let t = Instant::now();
    let options = IntakeOptions {
        now: Utc::now(),
        ..IntakeOptions::default()
    };
    let report = intake::intake_file(pool, &path, &options, |_, _| {}).await?;
    let total = t.elapsed().as_secs_f64();
    println!();
    println!("| step | claims | seconds | claims/s | MB/s |");
    println!("|---|---:|---:|---:|---:|");
    println!(
        "| parse only (one core, best of 3) | {read} | {best:.2} | {:.0} | {:.0} |",
        read as f64 / best,
        size as f64 / 1e6 / best
    );
    println!(
        "| end to end into central | {} taken, {} rejected | {total:.2} | {:.0} | {:.1} |",
        report.claims_accepted,
        report.claims_rejected,
        claims as f64 / total,
        size as f64 / 1e6 / total
    );
    if report.claims_rejected > 0 {
        let reasons: Vec<(Option<String>, i64)> = sqlx::query_as(
            "SELECT c.reason, count(*) FROM claimdesk.intake_claim c JOIN claimdesk.intake_set s ON s.id = c.set_id
             JOIN claimdesk.intake_interchange i ON i.id = s.interchange_id WHERE i.batch_id = $1 AND c.claim_id IS NULL
             GROUP BY 1 ORDER BY 2 DESC",
        )
        .bind(report.batch_id)
        .fetch_all(pool)
        .await?;
        println!("\nrejected by reason: {reasons:?}");
    }
    Ok(())
}

fn tempfile_dir() -> Result<PathBuf> {
    let dir = std::env::temp_dir().join(format!("claimdesk-bench-intake-{}", std::process::id()));
    std::fs::create_dir_all(&dir)?;
    Ok(dir)
}
