//! `claimdesk-admin`: administration of the central database from a headless
//! server. It links `claimdesk-core` and never Tauri or WebKit.

use std::io::Read;

use anyhow::{bail, Context, Result};
use claimdesk_core::central::MIGRATOR;
use claimdesk_core::{logging, paths::AppDirs, scram, Secret};
use clap::{Parser, Subcommand};
use sqlx::migrate::MigrateDatabase;
use sqlx::{Connection, PgConnection, Postgres};

/// Administration of ClaimDesk's central PostgreSQL database.
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
    /// Manages people's login roles.
    #[command(subcommand)]
    User(UserCommand),
}

#[derive(Debug, Subcommand)]
enum UserCommand {
    /// Creates a login role in the claimdesk_staff group. The password is read
    /// from standard input and sent to the server only as a SCRAM verifier.
    Create {
        /// The login name.
        username: String,
        /// Succeed without changes if the role exists already.
        #[arg(long)]
        exists_ok: bool,
    },
}

#[tokio::main(flavor = "current_thread")]
async fn main() -> Result<()> {
    let cli = Cli::parse();
    let dirs = AppDirs::resolve(|k| std::env::var(k).ok());
    let _log = logging::init(&dirs.logs, "admin");
    let url = cli
        .database_url
        .context("no database URL: pass --database-url or set CLAIMDESK_ADMIN_DATABASE_URL")?;
    match cli.command {
        Command::Migrate => migrate(url.expose()).await,
        Command::User(UserCommand::Create {
            username,
            exists_ok,
        }) => {
            let mut password = String::new();
            std::io::stdin()
                .read_to_string(&mut password)
                .context("reading the password from standard input")?;
            let password = Secret::new(password.trim_end_matches(['\r', '\n']).to_string());
            create_user(url.expose(), &username, &password, exists_ok).await
        }
    }
}

async fn migrate(url: &str) -> Result<()> {
    if !Postgres::database_exists(url)
        .await
        .context("connecting to the server")?
    {
        Postgres::create_database(url)
            .await
            .context("creating the database")?;
        println!("created the database");
    }
    let mut conn = PgConnection::connect(url)
        .await
        .context("connecting to the database")?;
    MIGRATOR
        .run(&mut conn)
        .await
        .context("applying migrations")?;
    let applied: i64 = sqlx::query_scalar("SELECT count(*) FROM _sqlx_migrations WHERE success")
        .fetch_one(&mut conn)
        .await?;
    println!("migrations applied: {applied}");
    Ok(())
}

async fn create_user(
    url: &str,
    username: &str,
    password: &Secret<String>,
    exists_ok: bool,
) -> Result<()> {
    if username.is_empty() || username.len() > 63 {
        bail!("a login name has 1 to 63 characters");
    }
    if password.expose().len() < 4 {
        bail!("the password is too short");
    }
    let mut conn = PgConnection::connect(url)
        .await
        .context("connecting to the database")?;
    let exists: bool =
        sqlx::query_scalar("SELECT EXISTS (SELECT FROM pg_roles WHERE rolname = $1)")
            .bind(username)
            .fetch_one(&mut conn)
            .await?;
    if exists {
        if exists_ok {
            println!("user {username} exists already");
            return Ok(());
        }
        bail!("user {username} exists already");
    }
    // Role names and passwords cannot be bind parameters in DDL, so quote them
    // with the server's own format(%I, %L).
    let ddl: String = sqlx::query_scalar(
        "SELECT format('CREATE ROLE %I LOGIN PASSWORD %L IN ROLE claimdesk_staff', $1::text, $2::text)",
    )
    .bind(username)
    .bind(scram::verifier(password.expose()))
    .fetch_one(&mut conn)
    .await?;
    sqlx::raw_sql(&ddl)
        .execute(&mut conn)
        .await
        .context("creating the role")?;
    println!("created user {username}");
    Ok(())
}
