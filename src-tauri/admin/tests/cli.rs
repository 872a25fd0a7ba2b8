//! The admin CLI as an operator runs it: a real binary, a real server.

use assert_cmd::Command;
use claimdesk_core::central::{CentralSession, Credentials};
use claimdesk_core::settings::{CentralSettings, TlsMode};
use claimdesk_core::Secret;
use sqlx::postgres::PgConnectOptions;
use sqlx::{ConnectOptions, Connection};

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
    for command in [
        "migrate", "seed", "user", "audit", "keys", "rescore", "bench",
    ] {
        assert!(text.contains(command), "{command} missing from:\n{text}");
    }
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

#[test]
fn unreachable_server_and_bad_arguments_are_clear_errors() {
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let out = admin()
        .env(
            "CLAIMDESK_ADMIN_DATABASE_URL",
            format!("postgres://x:y@127.0.0.1:{port}/db"),
        )
        .arg("migrate")
        .output()
        .unwrap();
    assert!(!out.status.success());
    assert!(
        String::from_utf8_lossy(&out.stderr).contains("cannot be reached"),
        "{out:?}"
    );

    let out = admin()
        .env("CLAIMDESK_ADMIN_DATABASE_URL", "not a url")
        .arg("migrate")
        .output()
        .unwrap();
    assert!(
        String::from_utf8_lossy(&out.stderr).contains("not a valid postgres:// URL"),
        "{out:?}"
    );
    assert!(
        !String::from_utf8_lossy(&out.stderr).contains("not a url"),
        "the URL may hold a password"
    );

    let out = admin()
        .args(["user", "add", "x", "--role", "janitor"])
        .output()
        .unwrap();
    assert!(!out.status.success());
    assert!(
        String::from_utf8_lossy(&out.stderr).contains("unknown role 'janitor'"),
        "{out:?}"
    );
}

#[test]
fn keys_init_refuses_to_overwrite() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("keys.json");
    let first = admin()
        .args(["keys", "init", "--keys"])
        .arg(&path)
        .output()
        .unwrap();
    assert!(first.status.success(), "{first:?}");
    let before = std::fs::read(&path).unwrap();
    let second = admin()
        .args(["keys", "init", "--keys"])
        .arg(&path)
        .output()
        .unwrap();
    assert!(!second.status.success());
    assert_eq!(std::fs::read(&path).unwrap(), before);
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
            .args(["user", "add", &username, "--role", "adjudicator"])
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
    let adjudicator: bool =
        sqlx::query_scalar("SELECT pg_has_role(current_user, 'claimdesk_adjudicator', 'MEMBER')")
            .fetch_one(session.pool())
            .await
            .unwrap();
    assert!(adjudicator);
    session.close().await;

    // audit verify: intact, then broken by the owner, naming the row.
    let verify = || {
        admin()
            .env("CLAIMDESK_ADMIN_DATABASE_URL", &url)
            .args(["audit", "verify"])
            .output()
            .unwrap()
    };
    let intact = verify();
    assert!(
        intact.status.success(),
        "{}",
        String::from_utf8_lossy(&intact.stderr)
    );
    assert!(String::from_utf8_lossy(&intact.stdout).contains("intact"));
    let mut db = owner.clone().database(&database).connect().await.unwrap();
    sqlx::raw_sql(
        "SELECT claimdesk.audit_append('view', 'member', 'a', NULL, true);
         SELECT claimdesk.audit_append('view', 'member', 'b', NULL, true);
         SET session_replication_role = replica;
         UPDATE claimdesk.audit_log SET resource_id = 'z' WHERE seq = 1;",
    )
    .execute(&mut db)
    .await
    .unwrap();
    let broken = verify();
    assert_eq!(broken.status.code(), Some(2));
    assert!(
        String::from_utf8_lossy(&broken.stdout).contains("row 1 was altered"),
        "{:?}",
        broken
    );
    drop(db);

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

#[tokio::test]
async fn leie_import_flags_a_listed_provider_and_refuses_a_bad_file() {
    let owner: PgConnectOptions = std::env::var("CLAIMDESK_TEST_PG_URL")
        .expect("CLAIMDESK_TEST_PG_URL is not set: run ./scripts/test")
        .parse()
        .unwrap();
    let database = format!("t_admin_leie_{}", std::process::id());
    let url = owner.clone().database(&database).to_url_lossy().to_string();
    let dir = tempfile::tempdir().unwrap();
    let keys = dir.path().join("field-keys.json");
    let run = |args: &[&str]| {
        admin()
            .env("CLAIMDESK_ADMIN_DATABASE_URL", &url)
            .env("CLAIMDESK_FIELD_KEYS", &keys)
            .args(args)
            .output()
            .unwrap()
    };
    assert!(run(&["migrate"]).status.success());
    assert!(run(&["keys", "init"]).status.success());
    let seeded = run(&["seed", "--claims", "200", "--providers", "20"]);
    assert!(
        seeded.status.success(),
        "{}",
        String::from_utf8_lossy(&seeded.stderr)
    );

    let mut conn = sqlx::PgConnection::connect_with(&owner.clone().database(&database))
        .await
        .unwrap();
    let npi: String = sqlx::query_scalar(
        "SELECT npi FROM claimdesk.provider WHERE NOT excluded ORDER BY npi LIMIT 1",
    )
    .fetch_one(&mut conn)
    .await
    .unwrap();
    let head = claimdesk_core::leie::HEADER.join(",");
    let file = dir.path().join("UPDATED.csv");
    std::fs::write(
        &file,
        format!("{head}\nLISTED,PERSON,,,,,,{npi},,,,OK,,1128a1,20240115,,,\nOTHER,PERSON,,,,,,,,,,ZZ,,1128b4,20230101,,,\n"),
    )
    .unwrap();
    let out = run(&["leie", "import", file.to_str().unwrap()]);
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(stdout.contains("imported 2 entries: 2 new"), "{stdout}");
    assert!(
        stdout.contains(&format!(
            "flagged NPI {npi} listed as LISTED, PERSON (matched by npi)"
        )),
        "{stdout}"
    );
    let excluded: bool =
        sqlx::query_scalar("SELECT excluded FROM claimdesk.provider WHERE npi = $1")
            .bind(&npi)
            .fetch_one(&mut conn)
            .await
            .unwrap();
    assert!(excluded);

    std::fs::write(
        &file,
        format!("{head}\nBAD,DATE,,,,,,,,,,TX,,1128a1,2024-01-15,,,\n"),
    )
    .unwrap();
    let bad = run(&["leie", "import", file.to_str().unwrap()]);
    assert!(!bad.status.success());
    assert!(
        String::from_utf8_lossy(&bad.stderr).contains("Line 2: EXCLDATE"),
        "{}",
        String::from_utf8_lossy(&bad.stderr)
    );
    let imports: i64 = sqlx::query_scalar("SELECT count(*) FROM claimdesk.leie_import")
        .fetch_one(&mut conn)
        .await
        .unwrap();
    assert_eq!(imports, 1);
    conn.close().await.unwrap();
}
