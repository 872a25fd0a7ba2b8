//! `claimdesk-admin`: administration of the central database from a headless
//! server. It links `claimdesk-core` and never Tauri or WebKit.

use std::io::Read;
use std::path::PathBuf;
use std::time::Instant;

use anyhow::{bail, Context, Result};
use chrono::Utc;
use claimdesk_core::audit::{self, ChainBreak};
use claimdesk_core::central::{CentralError, MIGRATOR};
use claimdesk_core::fieldcrypt::{self, FieldKeys};
use claimdesk_core::seed::{self, SeedError, SeedOptions};
use claimdesk_core::settings::{CentralSettings, TlsMode};
use claimdesk_core::users::{self, Added, StaffRole};
use claimdesk_core::{logging, paths::AppDirs, Secret};
use clap::{Parser, Subcommand};
use sqlx::migrate::MigrateDatabase;
use sqlx::postgres::PgConnectOptions;
use sqlx::{ConnectOptions, Connection, PgConnection, Postgres};

/// Administration of ClaimDesk's central PostgreSQL database (14 or newer).
#[derive(Debug, Parser)]
#[command(name = "claimdesk-admin", version, about)]
struct Cli {
    /// Connection URL of the database owner, e.g. postgres://owner:pw@host:5432/claimdesk
    #[arg(
        long,
        env = "CLAIMDESK_ADMIN_DATABASE_URL",
        hide_env_values = true,
        global = true
    )]
    database_url: Option<Secret<String>>,

    #[command(subcommand)]
    command: Command,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Creates the database if it is missing, then applies pending migrations.
    Migrate,
    /// Fills an empty database with deterministic synthetic demo data.
    Seed {
        /// Number of claims.
        #[arg(long, default_value_t = 2_000)]
        claims: u64,
        /// Random seed: the same seed gives the same data.
        #[arg(long, default_value_t = 1)]
        seed: u64,
        /// Number of providers.
        #[arg(long, default_value_t = 200)]
        providers: u32,
        /// The field-encryption key file (see `keys init`).
        #[arg(long, env = "CLAIMDESK_FIELD_KEYS")]
        keys: PathBuf,
        /// Do nothing, successfully, when the database already has claims.
        #[arg(long)]
        if_empty: bool,
    },
    /// Manages people's login roles.
    #[command(subcommand)]
    User(UserCommand),
    /// Checks the audit trail.
    #[command(subcommand)]
    Audit(AuditCommand),
    /// Manages the field-encryption keys for SSNs and tax ids.
    #[command(subcommand)]
    Keys(KeysCommand),
    /// Imports X12 837 claim files (005010X222A1 professional, X223A2
    /// institutional), answering each interchange with a 999 (or TA1) and
    /// each accepted claim set with a 277CA, written beside the file. With
    /// --watch, takes complete files from a drop folder forever and moves
    /// each to done/ or rejected/ with its answers.
    Intake {
        /// Files to import.
        files: Vec<PathBuf>,
        /// A drop folder to watch instead.
        #[arg(long, conflicts_with = "files")]
        watch: Option<PathBuf>,
        /// Seconds between looks at the folder (a file must be unchanged
        /// for this long to be taken).
        #[arg(long, default_value_t = 2)]
        every: u64,
    },
    /// Raises the priority of open claims whose prompt-pay due date is near
    /// or past (the housekeeping does this every minute; this re-scores with
    /// every intake rule).
    Rescore,
    /// The queue's time-driven work: ended pends back to the queue,
    /// priorities raised as due dates near. Central runs it every minute
    /// through pg_cron where it can; this runs it by hand, or every SECS
    /// with --watch.
    Housekeeping {
        /// Repeat every this many seconds instead of once.
        #[arg(long, value_name = "SECS")]
        watch: Option<u64>,
    },
    /// Measures the database under load (see BENCHMARKS.md).
    #[command(subcommand)]
    Bench(BenchCommand),
    /// OIG exclusion screening.
    #[command(subcommand)]
    Leie(LeieCommand),
    /// The payment cycle.
    #[command(subcommand)]
    Payments(PaymentsCommand),
}

#[derive(Debug, Subcommand)]
enum PaymentsCommand {
    /// Pays every finalized claim decided on or before --through that has
    /// no payment yet: one payment and one X12 835 per payee (the billing
    /// provider), written to --out as PAYMENT-<trace>.835. Safe to run
    /// again, and to run after it was killed: it resumes, and nothing is
    /// paid twice.
    Run {
        /// Claims decided on or before this day (YYYY-MM-DD).
        #[arg(long)]
        through: chrono::NaiveDate,
        /// The day the money moves (BPR16); today by default.
        #[arg(long)]
        payment_date: Option<chrono::NaiveDate>,
        /// Where the 835 files go.
        #[arg(long)]
        out: PathBuf,
        /// The field-encryption key file (payees' tax ids).
        #[arg(long, env = "CLAIMDESK_FIELD_KEYS")]
        keys: PathBuf,
    },
}

#[derive(Debug, Subcommand)]
enum LeieCommand {
    /// Imports the OIG's monthly LEIE CSV: keeps the list, reports what is
    /// new and who was reinstated since the last import, flags the providers
    /// it names and pends their open claims. Run it monthly.
    Import {
        /// The CSV file, in the OIG's published layout.
        file: PathBuf,
    },
}

#[derive(Debug, Subcommand)]
enum BenchCommand {
    /// The audit trail at size: fills it to --rows (a valid chain in every
    /// lane), then times filtered pages, chain verification and appends
    /// from concurrent writers.
    Audit {
        /// Rows the trail should hold.
        #[arg(long, default_value_t = 5_000_000)]
        rows: u64,
        /// Concurrent writers appending.
        #[arg(long, default_value_t = 32)]
        writers: usize,
        /// Seconds the writers append for.
        #[arg(long, default_value_t = 20)]
        append_secs: u64,
        /// Timed first pages per filter.
        #[arg(long, default_value_t = 30)]
        pages: usize,
        /// Connections the parallel verifier uses.
        #[arg(long, default_value_t = 4)]
        verify_workers: usize,
    },
    /// The desktop's encrypted cache: first sync of the queue's head, reads
    /// with decryption against plaintext, local search, and one change
    /// reaching a second client. Uses the claims already in the database.
    Sync {
        /// Claims of the queue's head to sync.
        #[arg(long, default_value_t = 100_000)]
        head: i64,
        /// Rows per batch (one local transaction each).
        #[arg(long, default_value_t = 2_000)]
        batch: i64,
        /// Changes sent to the second client.
        #[arg(long, default_value_t = 20)]
        changes: usize,
    },
    /// The supervisor's team dashboard read as a supervisor, each span,
    /// against seed 004's dashboard view. Uses the claims in the database.
    Dashboard {
        /// Timed reads of each.
        #[arg(long, default_value_t = 20)]
        reads: usize,
    },
    /// X12 837 intake: an 837P of --claims claims written from the
    /// database's members and providers, read by the parser alone, then
    /// imported end to end. Needs a seeded database.
    Intake {
        /// Claims in the file.
        #[arg(long, default_value_t = 100_000)]
        claims: usize,
        /// Claims per transaction set (the TR3 recommends at most 5,000).
        #[arg(long, default_value_t = 5_000)]
        per_set: usize,
        /// Keep the file here instead of a temporary folder.
        #[arg(long)]
        out: Option<PathBuf>,
        /// Only write the file (to --out), for a drop folder or a later run.
        #[arg(long, requires = "out")]
        write_only: bool,
    },
    /// Decisions per second from concurrent writers with central's checks,
    /// against claim_decide as it was before them, in turns on the same
    /// database. Uses the claims in the database (open ones are decided).
    Decide {
        /// Concurrent writers.
        #[arg(long, default_value_t = 32)]
        writers: usize,
        /// Decisions per turn.
        #[arg(long, default_value_t = 3_000)]
        decisions: i64,
        /// Pairs of turns (before, with checks).
        #[arg(long, default_value_t = 3)]
        turns: usize,
    },
    /// Checkout throughput and latency of the work queue, against seed 001's
    /// OFFSET query. Seeds the database first when it is empty.
    Queue {
        /// Closed-loop clients.
        #[arg(long, default_value_t = 64)]
        clients: usize,
        /// Claims to seed when the database is empty.
        #[arg(long, default_value_t = 1_000_000)]
        claims: u64,
        /// Checkouts in the closed-loop run.
        #[arg(long, default_value_t = 120_000)]
        checkouts: u64,
        /// Clients in the paced run.
        #[arg(long, default_value_t = 64)]
        paced_clients: usize,
        /// Mean think time of a paced client, in milliseconds.
        #[arg(long, default_value_t = 2_000)]
        think_ms: u64,
        /// Length of the paced run, in seconds.
        #[arg(long, default_value_t = 30)]
        paced_secs: u64,
        /// Key file, needed only when the bench seeds.
        #[arg(long, env = "CLAIMDESK_FIELD_KEYS")]
        keys: Option<PathBuf>,
    },
}

#[derive(Debug, Subcommand)]
enum UserCommand {
    /// Adds a login in one staff group. The password is read from standard
    /// input and reaches the server only as a SCRAM verifier.
    Add {
        /// The login name (lower-case letters, digits, '_', '.', '-').
        username: String,
        /// adjudicator, credentialing, supervisor or admin.
        #[arg(long)]
        role: StaffRole,
        /// Succeed without changes if the login exists already.
        #[arg(long)]
        exists_ok: bool,
    },
}

#[derive(Debug, Subcommand)]
enum AuditCommand {
    /// Verifies the whole hash chain and names the first broken row.
    Verify,
}

#[derive(Debug, Subcommand)]
enum KeysCommand {
    /// Creates a key file with a first random key (refuses to overwrite).
    Init {
        /// Where to write it (mode 600).
        #[arg(long, env = "CLAIMDESK_FIELD_KEYS")]
        keys: PathBuf,
    },
    /// Adds a new key version and re-encrypts every identifier to it.
    Rotate {
        /// The key file to extend.
        #[arg(long, env = "CLAIMDESK_FIELD_KEYS")]
        keys: PathBuf,
    },
}

mod bench;
mod bench_audit;
mod bench_dashboard;
mod bench_decide;
mod bench_intake;
mod bench_sync;
mod intake;

#[tokio::main(flavor = "multi_thread", worker_threads = 2)]
async fn main() -> std::process::ExitCode {
    let cli = Cli::parse();
    let dirs = AppDirs::resolve(|k| std::env::var(k).ok());
    let _log = logging::init(&dirs.logs, "admin");
    match run(cli).await {
        Ok(code) => code,
        Err(error) => {
            eprintln!("claimdesk-admin: {error:#}");
            std::process::ExitCode::FAILURE
        }
    }
}

async fn run(cli: Cli) -> Result<std::process::ExitCode> {
    use std::process::ExitCode;
    // Key files can be made without a database.
    if let Command::Keys(KeysCommand::Init { keys }) = &cli.command {
        if keys.exists() {
            bail!(
                "{} exists already; refusing to overwrite keys",
                keys.display()
            );
        }
        FieldKeys::generate().save(keys)?;
        println!("wrote a new key file {} (key version 1)", keys.display());
        return Ok(ExitCode::SUCCESS);
    }
    let url = cli
        .database_url
        .context("no database URL: pass --database-url or set CLAIMDESK_ADMIN_DATABASE_URL")?;
    let options: PgConnectOptions = url
        .expose()
        .parse()
        .map_err(|_| anyhow::anyhow!("the database URL is not a valid postgres:// URL"))?;
    let options = options.disable_statement_logging();

    if let Command::Migrate = cli.command {
        if !Postgres::database_exists(url.expose())
            .await
            .map_err(|e| explain(e, &options))?
        {
            Postgres::create_database(url.expose())
                .await
                .map_err(|e| explain(e, &options))?;
            println!("created the database");
        }
    }
    let mut conn = PgConnection::connect_with(&options)
        .await
        .map_err(|e| explain(e, &options))?;

    match cli.command {
        Command::Migrate => {
            MIGRATOR
                .run(&mut conn)
                .await
                .context("applying migrations")?;
            println!("migrations applied: {}", MIGRATOR.iter().count());
            if claimdesk_core::queue::schedule_housekeeping(&mut conn).await? {
                println!("housekeeping scheduled every minute (pg_cron)");
            } else {
                println!("pg_cron is not loaded for this database: run `claimdesk-admin housekeeping --watch 60`");
            }
        }
        Command::Housekeeping { watch } => loop {
            // Batches until a pass does nothing: a backlog drains in one run.
            let mut total = claimdesk_core::queue::Housekeeping::default();
            loop {
                let done =
                    claimdesk_core::queue::housekeeping(&mut conn, Utc::now().date_naive(), 1_000)
                        .await?;
                total.pends_returned += done.pends_returned;
                total.priorities_raised += done.priorities_raised;
                if done == claimdesk_core::queue::Housekeeping::default() {
                    break;
                }
            }
            println!(
                "{} pended claims back in the queue; {} claims raised to the priority their due date demands",
                total.pends_returned, total.priorities_raised
            );
            match watch {
                Some(secs) => tokio::time::sleep(std::time::Duration::from_secs(secs.max(1))).await,
                None => break,
            }
        },
        Command::Seed {
            claims,
            seed,
            providers,
            keys,
            if_empty,
        } => {
            let keys = FieldKeys::load(&keys)?;
            let started = Instant::now();
            let opts = SeedOptions {
                claims,
                seed,
                providers,
                now: Utc::now(),
            };
            let report = match seed::seed(&mut conn, &keys, &opts, |stage, n| {
                eprintln!("  {stage}: {n} ({:.1} s)", started.elapsed().as_secs_f64());
            })
            .await
            {
                Ok(report) => report,
                Err(SeedError::NotEmpty(n)) if if_empty => {
                    println!("the database already holds {n} claims; not seeding");
                    return Ok(ExitCode::SUCCESS);
                }
                Err(e) => return Err(seed_failed(e)),
            };
            println!(
                "seeded {} claims ({} lines, {} appeals), {} members, {} providers in {:.1} s",
                report.claims,
                report.lines,
                report.appeals,
                report.members,
                report.providers,
                started.elapsed().as_secs_f64()
            );
        }
        Command::User(UserCommand::Add {
            username,
            role,
            exists_ok,
        }) => {
            let mut password = String::new();
            std::io::stdin()
                .read_to_string(&mut password)
                .context("reading the password from standard input")?;
            let password = Secret::new(password.trim_end_matches(['\r', '\n']).to_string());
            match users::add_user(&mut conn, &username, &password, role, exists_ok).await? {
                Added::Created => println!("added {username} as {role}"),
                Added::Existed => println!("{username} exists already; unchanged"),
            }
        }
        Command::Audit(AuditCommand::Verify) => {
            // Four runs at once, in one snapshot (a pool of its own).
            let pool = sqlx::postgres::PgPoolOptions::new()
                .max_connections(5)
                .connect_with(options.clone())
                .await?;
            let started = std::time::Instant::now();
            let report = audit::verify_parallel(&pool, 4).await?;
            let secs = started.elapsed().as_secs_f64();
            eprintln!(
                "{} rows in {secs:.2} s ({:.0} rows/s)",
                report.rows_checked,
                f64::from(report.rows_checked) / secs
            );
            match report.first_break {
                None => println!("audit chain intact: {} rows verified", report.rows_checked),
                Some(b) => {
                    println!(
                        "audit chain BROKEN after {} rows: {}",
                        report.rows_checked,
                        describe(&b)
                    );
                    return Ok(ExitCode::from(2));
                }
            }
        }
        Command::Keys(KeysCommand::Rotate { keys: path }) => {
            let mut keys = FieldKeys::load(&path)?;
            let version = keys.add_version();
            // Save first: a crash mid-rotation leaves rows under either key,
            // and both are in the file.
            keys.save(&path)?;
            let moved = fieldcrypt::rotate(&mut conn, &keys, 1_000).await?;
            println!("key version {version} is current; re-encrypted {moved} identifiers");
        }
        Command::Keys(KeysCommand::Init { .. }) => unreachable!("handled above"),
        Command::Intake {
            files,
            watch,
            every,
        } => {
            drop(conn);
            let pool = sqlx::postgres::PgPoolOptions::new()
                .max_connections(4)
                .connect_with(options.clone())
                .await
                .map_err(|e| explain(e, &options))?;
            match watch {
                Some(dir) => {
                    intake::watch(&pool, &dir, std::time::Duration::from_secs(every.max(1))).await?
                }
                None => {
                    if files.is_empty() {
                        bail!("name the 837 files to import, or a folder with --watch");
                    }
                    if !intake::files(&pool, &files).await? {
                        return Ok(ExitCode::from(3));
                    }
                }
            }
            return Ok(ExitCode::SUCCESS);
        }
        Command::Rescore => {
            let rules = claimdesk_core::priority::rules_from_reference(&mut conn).await?;
            let changed =
                claimdesk_core::priority::rescore_due(&mut conn, &rules, Utc::now().date_naive())
                    .await?;
            println!("raised the priority of {changed} claims nearing their due date");
        }
        Command::Payments(PaymentsCommand::Run {
            through,
            payment_date,
            out,
            keys,
        }) => {
            drop(conn);
            let keys = FieldKeys::load(&keys)?;
            let pool = sqlx::postgres::PgPoolOptions::new()
                .max_connections(3)
                .connect_with(options.clone())
                .await
                .map_err(|e| explain(e, &options))?;
            std::fs::create_dir_all(&out)
                .with_context(|| format!("cannot create {}", out.display()))?;
            let mut opts = claimdesk_core::payments::PaymentOptions::new(Utc::now());
            if let Some(day) = payment_date {
                opts.payment_date = day;
            }
            let write = |trace: &str, text: &str| -> std::io::Result<()> {
                // Written whole, then renamed: a reader never sees half a file.
                let path = out.join(format!("PAYMENT-{trace}.835"));
                let part = out.join(format!(".PAYMENT-{trace}.835.part"));
                std::fs::write(&part, text)?;
                std::fs::rename(&part, &path)
            };
            let report =
                claimdesk_core::payments::run(&pool, &keys, through, &opts, |made, text| {
                    println!(
                        "  payment {} to NPI {}: {} claims, {} (interest {})",
                        made.trace, made.payee_npi, made.claims, made.amount, made.interest
                    );
                    write(&made.trace, text)
                })
                .await
                .map_err(|e| anyhow::anyhow!("{e} [{}]", e.code()))?;
            // Any advice of the run whose file is missing (a run killed after
            // a commit and before its write) is written again.
            let mut conn = pool.acquire().await?;
            let missing: Vec<String> = claimdesk_core::payments::traces(&mut conn, report.run_id)
                .await?
                .into_iter()
                .filter(|t| !out.join(format!("PAYMENT-{t}.835")).exists())
                .collect();
            for (trace, text) in claimdesk_core::payments::advices(&mut conn, &missing).await? {
                write(&trace, &text)?;
            }
            let amount: rust_decimal::Decimal = report.payments.iter().map(|p| p.amount).sum();
            println!(
                "payment run through {through}{}: {} payments, {} claims, {amount} paid; 835s in {}",
                if report.resumed { " (resumed)" } else { "" },
                report.payments.len(),
                report.payments.iter().map(|p| p.claims).sum::<u32>(),
                out.display()
            );
            return Ok(ExitCode::SUCCESS);
        }
        Command::Leie(LeieCommand::Import { file }) => {
            let bytes =
                std::fs::read(&file).with_context(|| format!("cannot read {}", file.display()))?;
            let report =
                claimdesk_core::leie::import(&mut conn, &bytes, uuid::Uuid::new_v4(), |p| {
                    if p.done % 10_000 == 0 {
                        eprintln!("{:?}: {} of {}", p.stage, p.done, p.total);
                    }
                })
                .await?;
            println!(
                "imported {} entries: {} new since the last import, {} no longer listed",
                report.entries,
                report.new_exclusions,
                report.reinstated.len()
            );
            for gone in &report.reinstated {
                println!("  no longer listed (recredential before reinstating): {gone}");
            }
            for f in &report.flagged {
                println!(
                    "  {} NPI {} listed as {} (matched by {}): {} open claims pended",
                    if f.newly_flagged {
                        "flagged"
                    } else {
                        "still flagged"
                    },
                    f.npi,
                    f.listed_as,
                    f.matched_by.replace('_', " and "),
                    f.claims_pended,
                );
            }
        }
        Command::Bench(BenchCommand::Audit {
            rows,
            writers,
            append_secs,
            pages,
            verify_workers,
        }) => {
            bench_audit::run(
                &options,
                &bench_audit::AuditBench {
                    rows,
                    writers,
                    append_for: std::time::Duration::from_secs(append_secs),
                    pages,
                    verify_workers,
                },
            )
            .await?;
        }
        Command::Bench(BenchCommand::Decide {
            writers,
            decisions,
            turns,
        }) => {
            bench_decide::run(&options, writers, decisions, turns).await?;
        }
        Command::Bench(BenchCommand::Intake {
            claims,
            per_set,
            out,
            write_only,
        }) => {
            let pool = sqlx::postgres::PgPoolOptions::new()
                .max_connections(4)
                .connect_with(options.clone())
                .await?;
            match out {
                Some(out) if write_only => {
                    let size = bench_intake::generate(&pool, claims, per_set, &out).await?;
                    println!("wrote {} ({size} bytes, {claims} claims)", out.display());
                }
                out => bench_intake::run(&pool, claims, per_set, out).await?,
            }
        }
        Command::Bench(BenchCommand::Dashboard { reads }) => {
            bench_dashboard::run(&options, reads).await?;
        }
        Command::Bench(BenchCommand::Sync {
            head,
            batch,
            changes,
        }) => {
            bench_sync::run(
                &options,
                &bench_sync::SyncBench {
                    head,
                    batch,
                    changes,
                },
            )
            .await?;
        }
        Command::Bench(BenchCommand::Queue {
            clients,
            claims,
            checkouts,
            paced_clients,
            think_ms,
            paced_secs,
            keys,
        }) => {
            let keys = match keys {
                Some(path) => FieldKeys::load(&path)?,
                None => FieldKeys::generate(),
            };
            let opts = SeedOptions {
                claims,
                seed: 1,
                providers: 200,
                now: Utc::now(),
            };
            // An empty database is seeded first; one with claims is used as it is.
            match seed::seed(&mut conn, &keys, &opts, |stage, n| {
                eprintln!("  seeding {stage}: {n}")
            })
            .await
            {
                Ok(_) | Err(SeedError::NotEmpty(_)) => {}
                Err(e) => return Err(seed_failed(e)),
            }
            let plan = bench::QueueBench {
                clients,
                checkouts,
                paced_clients,
                think: std::time::Duration::from_millis(think_ms),
                paced_for: std::time::Duration::from_secs(paced_secs),
            };
            bench::run(&options, &plan).await?;
        }
    }
    Ok(ExitCode::SUCCESS)
}

/// A seed error, with the likely remedy when the schema is missing.
fn seed_failed(error: SeedError) -> anyhow::Error {
    match error {
        SeedError::Database(_) => anyhow::Error::new(error)
            .context("seeding failed (is the schema there? run `claimdesk-admin migrate` first)"),
        other => other.into(),
    }
}

fn describe(b: &ChainBreak) -> String {
    match b {
        ChainBreak::Gap {
            lane,
            expected,
            found,
            seq,
        } => {
            format!("lane {lane} position {expected} is missing (row {seq} holds position {found})")
        }
        ChainBreak::BrokenLink { lane, seq } => {
            format!("row {seq} does not link to the row before it in lane {lane}")
        }
        ChainBreak::ContentChanged { seq, .. } => format!("row {seq} was altered"),
        ChainBreak::HeadMismatch {
            lane,
            head_seq,
            last_seq,
        } => format!(
            "rows were removed from the end of lane {lane} (its head records position {head_seq}, \
             the lane ends at {last_seq})"
        ),
    }
}

/// Connection errors in the words the desktop app uses too.
fn explain(error: sqlx::Error, options: &PgConnectOptions) -> anyhow::Error {
    let settings = CentralSettings {
        host: options.get_host().to_string(),
        port: options.get_port(),
        database: options.get_database().unwrap_or("postgres").to_string(),
        tls_mode: TlsMode::Prefer,
        tls_root_cert: None,
    };
    anyhow::anyhow!(CentralError::from_sqlx(error, &settings))
}
