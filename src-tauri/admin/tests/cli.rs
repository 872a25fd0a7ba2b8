//! The admin CLI as an operator runs it: a real binary, a real server.

use assert_cmd::Command;
use claimdesk_core::central::{CentralSession, Credentials};
use claimdesk_core::settings::{CentralSettings, TlsMode};
use claimdesk_core::Secret;
use sqlx::postgres::PgConnectOptions;
use sqlx::ConnectOptions;

fn admin() -> Command {
    let mut cmd = Command::cargo_bin("claimdesk-admin").unwrap();
    // Keep the admin's log files out of the real profile.
    cmd.env(
        "CLAIMDESK_HOME",
        std::env::temp_dir().join("claimdesk-admin-tests"),
    );
    cmd.env_remove("CLAIMDESK_ADMIN_DATABASE_URL");
    cmd
}

#[test]
fn help_runs_without_a_display_or_database() {
    let out = admin().arg("--help").output().unwrap();
    assert!(out.status.success());
    let text = String::from_utf8(out.stdout).unwrap();
    assert!(text.contains("migrate") && text.contains("user"), "{text}");
}

#[test]
fn links_neither_tauri_nor_webkit() {
    let out = std::process::Command::new(env!("CARGO"))
        .args([
            "tree",
            "--locked",
            "--offline",
            "-p",
            "claimdesk-admin",
            "-e",
            "normal,build",
        ])
        .args(["--prefix", "none", "--format", "{p}"])
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let tree = String::from_utf8(out.stdout).unwrap();
    assert!(tree.contains("claimdesk-core"), "{tree}");
    let gui: Vec<&str> = tree
        .lines()
        .filter(|l| {
            ["tauri", "wry", "webkit", "gtk"]
                .iter()
                .any(|g| l.starts_with(g))
        })
        .collect();
    assert!(gui.is_empty(), "the admin CLI pulls in GUI crates: {gui:?}");
}

#[test]
fn missing_database_url_is_a_clear_error() {
    let out = admin().arg("migrate").output().unwrap();
    assert!(!out.status.success());
    let err = String::from_utf8(out.stderr).unwrap();
    assert!(err.contains("CLAIMDESK_ADMIN_DATABASE_URL"), "{err}");
}

#[tokio::test]
async fn migrate_then_create_a_user_who_can_log_in() {
    let owner: PgConnectOptions = std::env::var("CLAIMDESK_TEST_PG_URL")
        .expect("CLAIMDESK_TEST_PG_URL is not set: run ./scripts/test")
        .parse()
        .unwrap();
    let database = format!("t_admin_{}", std::process::id());
    let url = owner.clone().database(&database).to_url_lossy().to_string();
    let username = format!("t_admin_user_{}", std::process::id());

    let migrate = admin()
        .env("CLAIMDESK_ADMIN_DATABASE_URL", &url)
        .arg("migrate")
        .output()
        .unwrap();
    assert!(
        migrate.status.success(),
        "{}",
        String::from_utf8_lossy(&migrate.stderr)
    );
    // A second run is a no-op.
    let again = admin()
        .env("CLAIMDESK_ADMIN_DATABASE_URL", &url)
        .arg("migrate")
        .output()
        .unwrap();
    assert!(again.status.success());

    let create = |extra: &[&str]| {
        admin()
            .env("CLAIMDESK_ADMIN_DATABASE_URL", &url)
            .args(["user", "create", &username])
            .args(extra)
            .write_stdin("Sup3r-secret\n")
            .output()
            .unwrap()
    };
    let created = create(&[]);
    assert!(
        created.status.success(),
        "{}",
        String::from_utf8_lossy(&created.stderr)
    );
    let duplicate = create(&[]);
    assert!(!duplicate.status.success());
    assert!(String::from_utf8_lossy(&duplicate.stderr).contains("exists already"));
    assert!(create(&["--exists-ok"]).status.success());

    // The SCRAM verifier computed by the CLI accepts the password.
    let settings = CentralSettings {
        host: owner.get_host().into(),
        port: owner.get_port(),
        database: database.clone(),
        tls_mode: TlsMode::Prefer,
        tls_root_cert: None,
    };
    let session = CentralSession::connect(
        &settings,
        &Credentials {
            username: username.clone(),
            password: Secret::new("Sup3r-secret".into()),
        },
    )
    .await
    .unwrap();
    let in_staff: bool =
        sqlx::query_scalar("SELECT pg_has_role(current_user, 'claimdesk_staff', 'MEMBER')")
            .fetch_one(session.pool())
            .await
            .unwrap();
    assert!(in_staff);
    session.close().await;

    let mut conn = owner.connect().await.unwrap();
    // Separate statements: DROP DATABASE refuses to run in the implicit
    // transaction of a multi-statement query.
    for ddl in [
        format!("DROP DATABASE {database} WITH (FORCE)"),
        format!("DROP ROLE {username}"),
    ] {
        sqlx::raw_sql(&ddl).execute(&mut conn).await.unwrap();
    }
}
