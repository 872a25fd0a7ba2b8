//! Logging in to a real PostgreSQL server and the errors a person sees.
//! `scripts/test` starts the server and sets `CLAIMDESK_TEST_PG_URL`.

use std::sync::atomic::{AtomicU32, Ordering};

use chrono::{TimeZone, Utc};
use claimdesk_core::central::{CentralError, CentralSession, Credentials};
use claimdesk_core::settings::{CentralSettings, TlsMode};
use claimdesk_core::users::{self, StaffRole};
use claimdesk_core::{ErrorCode, Secret};
use sqlx::postgres::PgConnectOptions;
use sqlx::{ConnectOptions, Connection};
use tokio::io::{AsyncReadExt, AsyncWriteExt};

fn owner_options() -> PgConnectOptions {
    let url = std::env::var("CLAIMDESK_TEST_PG_URL")
        .expect("CLAIMDESK_TEST_PG_URL is not set: run ./scripts/test, which starts PostgreSQL");
    url.parse()
        .expect("CLAIMDESK_TEST_PG_URL is a postgres:// URL")
}

fn settings(database: &str, tls_mode: TlsMode) -> CentralSettings {
    let owner = owner_options();
    CentralSettings {
        host: owner.get_host().to_string(),
        port: owner.get_port(),
        database: database.into(),
        tls_mode,
        tls_root_cert: None,
    }
}

/// Creates an adjudicator login unique to this test and returns its credentials.
async fn new_login() -> Credentials {
    new_login_as(StaffRole::Adjudicator).await
}

/// Creates a login in `role`'s group unique to this test.
async fn new_login_as(role: StaffRole) -> Credentials {
    static NEXT: AtomicU32 = AtomicU32::new(0);
    let username = format!(
        "t_login_{}_{}",
        std::process::id(),
        NEXT.fetch_add(1, Ordering::Relaxed)
    );
    let password = Secret::new("Correct-Horse-7".to_string());
    let mut owner = owner_options().connect().await.unwrap();
    users::add_user(&mut owner, &username, &password, role, false)
        .await
        .unwrap();
    owner.close().await.unwrap();
    Credentials { username, password }
}

fn code(result: Result<CentralSession, CentralError>) -> ErrorCode {
    result.expect_err("login should fail").code()
}

#[tokio::test]
async fn login_reports_server_version_database_user_and_latency() {
    let login = new_login().await;
    let session = CentralSession::connect(&settings("postgres", TlsMode::Prefer), &login)
        .await
        .unwrap();
    let now = Utc.with_ymd_and_hms(2026, 11, 21, 9, 0, 0).unwrap();
    let status = session.status(now).await.unwrap();
    assert!(
        status
            .server_version
            .starts_with(|c: char| c.is_ascii_digit()),
        "{status:?}"
    );
    assert_eq!(status.database, "postgres");
    assert_eq!(status.user, login.username);
    assert!(
        status.latency_ms > 0.0 && status.latency_ms < 5_000.0,
        "{status:?}"
    );
    assert_eq!(status.checked_at, now);
    assert_eq!(status.roles, vec![StaffRole::Adjudicator]);
    // The test cluster has TLS on, and `prefer` takes it.
    assert!(
        status.tls.as_deref().unwrap_or("").starts_with("TLS"),
        "{status:?}"
    );
    session.close().await;
}

/// The groups a login is in decide the rooms the UI offers: a credentialing
/// specialist is told they are one, and not an adjudicator.
#[tokio::test]
async fn the_status_names_the_logins_staff_groups() {
    for role in [StaffRole::Credentialing, StaffRole::Supervisor] {
        let login = new_login_as(role).await;
        let session = CentralSession::connect(&settings("postgres", TlsMode::Prefer), &login)
            .await
            .unwrap();
        let roles = session.status(Utc::now()).await.unwrap().roles;
        assert!(roles.contains(&role), "{role:?}: {roles:?}");
        assert!(!roles.contains(&StaffRole::Admin), "{roles:?}");
        if role == StaffRole::Credentialing {
            assert_eq!(roles, vec![StaffRole::Credentialing]);
        }
        session.close().await;
    }
}

#[tokio::test]
async fn wrong_password_is_auth_failed() {
    let mut login = new_login().await;
    login.password = Secret::new("wrong".into());
    let result = CentralSession::connect(&settings("postgres", TlsMode::Prefer), &login).await;
    assert_eq!(code(result), ErrorCode::AuthFailed);
}

#[tokio::test]
async fn unknown_role_is_auth_failed_too() {
    // The server does not reveal whether a role exists; neither do we.
    let login = Credentials {
        username: "t_nobody_here".into(),
        password: Secret::new("whatever".into()),
    };
    let result = CentralSession::connect(&settings("postgres", TlsMode::Prefer), &login).await;
    assert_eq!(code(result), ErrorCode::AuthFailed);
}

#[tokio::test]
async fn unknown_database_names_it() {
    let login = new_login().await;
    let error = CentralSession::connect(&settings("no_such_db", TlsMode::Prefer), &login)
        .await
        .unwrap_err();
    assert_eq!(error.code(), ErrorCode::UnknownDatabase);
    assert!(error.to_string().contains("no_such_db"), "{error}");
}

#[tokio::test]
async fn server_down_is_unreachable() {
    let login = new_login().await;
    // Bind then drop a listener: nothing answers on that port now.
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let mut down = settings("postgres", TlsMode::Prefer);
    down.port = port;
    let error = CentralSession::connect(&down, &login).await.unwrap_err();
    assert_eq!(error.code(), ErrorCode::ServerUnreachable);
    assert!(error.to_string().contains(&port.to_string()), "{error}");
}

async fn ensure_tls_only_database() {
    let mut owner = owner_options().connect().await.unwrap();
    // Several tests may race to create it; "already exists" is fine.
    if let Err(sqlx::Error::Database(e)) = sqlx::raw_sql("CREATE DATABASE claimdesk_tls_only")
        .execute(&mut owner)
        .await
    {
        assert!(
            matches!(e.code().as_deref(), Some("42P04") | Some("23505")),
            "{e}"
        );
    }
}

#[tokio::test]
async fn server_that_insists_on_tls_is_reported_as_tls_required() {
    ensure_tls_only_database().await;
    let login = new_login().await;
    let result =
        CentralSession::connect(&settings("claimdesk_tls_only", TlsMode::Disable), &login).await;
    assert_eq!(code(result), ErrorCode::TlsRequired);

    // The remedy the message suggests works.
    let session =
        CentralSession::connect(&settings("claimdesk_tls_only", TlsMode::Require), &login)
            .await
            .unwrap();
    session.close().await;
}

#[tokio::test]
async fn tls_required_by_us_but_not_offered_is_tls_unavailable() {
    // A stand-in server that declines the SSLRequest, as a server built
    // without TLS does.
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let port = listener.local_addr().unwrap().port();
    tokio::spawn(async move {
        let (mut socket, _) = listener.accept().await.unwrap();
        let mut request = [0u8; 8];
        socket.read_exact(&mut request).await.unwrap();
        socket.write_all(b"N").await.unwrap();
    });
    let mut plain = settings("postgres", TlsMode::Require);
    plain.port = port;
    let login = Credentials {
        username: "anyone".into(),
        password: Secret::new("x".into()),
    };
    let result = CentralSession::connect(&plain, &login).await;
    assert_eq!(code(result), ErrorCode::TlsUnavailable);
}

#[tokio::test]
async fn unverifiable_certificate_is_tls_failed() {
    // The test cluster's certificate is self-signed, so verify-full rejects it.
    let login = new_login().await;
    let result = CentralSession::connect(&settings("postgres", TlsMode::VerifyFull), &login).await;
    assert_eq!(code(result), ErrorCode::TlsFailed);
}

#[tokio::test]
async fn migrations_apply_cleanly_to_a_fresh_database() {
    let mut owner = owner_options().connect().await.unwrap();
    let name = format!("t_migrate_{}", std::process::id());
    sqlx::raw_sql(&format!("DROP DATABASE IF EXISTS {name}"))
        .execute(&mut owner)
        .await
        .unwrap();
    sqlx::raw_sql(&format!("CREATE DATABASE {name}"))
        .execute(&mut owner)
        .await
        .unwrap();
    let mut db = owner_options().database(&name).connect().await.unwrap();
    claimdesk_core::central::MIGRATOR
        .run(&mut db)
        .await
        .unwrap();
    // Running again is a no-op, as a second `claimdesk-admin migrate` must be.
    claimdesk_core::central::MIGRATOR
        .run(&mut db)
        .await
        .unwrap();
    let schema: Option<String> =
        sqlx::query_scalar("SELECT nspname::text FROM pg_namespace WHERE nspname = 'claimdesk'")
            .fetch_optional(&mut db)
            .await
            .unwrap();
    assert_eq!(schema.as_deref(), Some("claimdesk"));
    db.close().await.unwrap();
    sqlx::raw_sql(&format!("DROP DATABASE {name}"))
        .execute(&mut owner)
        .await
        .unwrap();
}
