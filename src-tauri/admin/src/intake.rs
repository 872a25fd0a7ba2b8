//! `claimdesk-admin intake`: 837 files into central, by name or from a
//! drop folder.

use std::path::{Path, PathBuf};
use std::time::Duration;

use anyhow::{Context, Result};
use chrono::Utc;
use claimdesk_core::intake::{self, IntakeOptions, IntakeReport, InterchangeOutcome};
use claimdesk_core::intake_folder::{self, Watch};
use sqlx::PgPool;

fn options() -> IntakeOptions {
    IntakeOptions {
        now: Utc::now(),
        ..IntakeOptions::default()
    }
}

/// One line per interchange and a total, no PHI.
fn say(file: &Path, r: &IntakeReport) {
    if let Some((batch, at)) = r.already_imported {
        println!(
            "{}: already imported on {} (batch {batch}); nothing new",
            file.display(),
            at.format("%Y-%m-%d %H:%M UTC")
        );
        return;
    }
    for i in &r.interchanges {
        let what = match &i.outcome {
            InterchangeOutcome::Imported => "read".to_string(),
            InterchangeOutcome::Resumed => "resumed after an interrupted run".to_string(),
            InterchangeOutcome::Duplicate {
                first_file,
                first_received,
            } => format!(
                "already received in {first_file} on {}: nothing new (TA1 025)",
                first_received.format("%Y-%m-%d %H:%M UTC")
            ),
            InterchangeOutcome::Rejected { ta1 } => format!("rejected whole (TA1 {ta1})"),
        };
        println!("  interchange {} from {}: {what}", i.control, i.sender);
    }
    if let Some(p) = &r.problem {
        println!("  the file could not be read to its end: {p}");
    }
    println!(
        "{}: {} of {} transaction sets accepted; {} claims taken ({}), {} rejected",
        file.display(),
        r.sets_accepted,
        r.sets_received,
        r.claims_accepted,
        r.amount_accepted,
        r.claims_rejected
    );
}

/// `intake FILE...`: the answers go beside each file.
pub async fn files(pool: &PgPool, files: &[PathBuf]) -> Result<bool> {
    let mut all_taken = true;
    for file in files {
        let size = std::fs::metadata(file).map(|m| m.len()).unwrap_or(0);
        let shown = std::sync::atomic::AtomicU64::new(0);
        let report = intake::intake_file(pool, file, &options(), move |at, total| {
            // A line per tenth of a large file.
            if size > 50 << 20 {
                let tenth = at * 10 / total.max(1);
                if shown.swap(tenth, std::sync::atomic::Ordering::Relaxed) != tenth {
                    eprintln!("  {}% read", tenth * 10);
                }
            }
        })
        .await
        .with_context(|| format!("importing {}", file.display()))?;
        let acks = match report.already_imported {
            Some((batch, _)) => intake_folder::stored_acks(pool, batch).await?,
            None => report.acks.clone(),
        };
        let dir = file.parent().unwrap_or(Path::new("."));
        let name = file
            .file_name()
            .map(|n| n.to_string_lossy().into_owned())
            .unwrap_or_default();
        let written = intake_folder::write_acks(dir, &name, &acks)?;
        say(file, &report);
        for w in written {
            println!("  answer: {}", w.display());
        }
        all_taken &= intake_folder::anything_taken(&report);
    }
    Ok(all_taken)
}

/// `intake --watch DIR`: forever, a look every `every`.
pub async fn watch(pool: &PgPool, dir: &Path, every: Duration) -> Result<()> {
    std::fs::create_dir_all(dir.join("done"))?;
    std::fs::create_dir_all(dir.join("rejected"))?;
    println!(
        "watching {} for 837 files (done/ and rejected/ beside it)",
        dir.display()
    );
    let mut w = Watch::default();
    loop {
        for path in w.ready(dir, every)? {
            match intake_folder::process(pool, &path, &options()).await {
                Ok(p) => {
                    say(&path, &p.report);
                    println!("  moved to {}", p.moved_to.display());
                }
                // Central away: the file stays and is tried again.
                Err(e) => eprintln!("{}: {e} [{}]; will try again", path.display(), e.code()),
            }
        }
        tokio::time::sleep(every).await;
    }
}
