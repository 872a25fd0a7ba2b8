//! The central PostgreSQL database: logging in, the connection status, and
//! turning driver errors into codes a person can act on.
//!
//! Every person logs in as their own PostgreSQL role, so the server, not the
//! desktop client, decides what each person may see and do.

use std::time::{Duration, Instant};

use chrono::{DateTime, Utc};
use serde::Serialize;
use sqlx::postgres::{PgConnectOptions, PgPool, PgPoolOptions, PgSslMode};
use sqlx::ConnectOptions;

use crate::error::ErrorCode;

/// Maps a central driver error to its stable code.
pub type ErrorMapper = std::sync::Arc<dyn Fn(sqlx::Error) -> ErrorCode + Send + Sync>;
use crate::settings::{CentralSettings, TlsMode};
use crate::users::StaffRole;
use crate::Secret;

/// The central schema's migrations, applied by `claimdesk-admin migrate`.
pub static MIGRATOR: sqlx::migrate::Migrator = sqlx::migrate!("../../migrations/central");

/// How long a login or a query waits for a connection before we call the
/// server unreachable. Short, because a person is watching a spinner.
const CONNECT_TIMEOUT: Duration = Duration::from_secs(3);

/// Who is logging in. The password stays wrapped until the driver needs it.
#[derive(Debug, Clone)]
pub struct Credentials {
    /// The PostgreSQL login role.
    pub username: String,
    /// Its password.
    pub password: Secret<String>,
}

/// Why talking to the central database failed.
///
/// Display strings are what the person at the desk reads. They never include
/// the server's own message text, which can quote row values (PHI) back.
#[derive(Debug, thiserror::Error)]
pub enum CentralError {
    /// Wrong user name or password (SQLSTATE 28P01).
    #[error("The server rejected the user name or password.")]
    AuthFailed,
    /// Nothing answered, or the connection dropped.
    #[error("The central server at {address} cannot be reached. Check the network or VPN; ClaimDesk keeps trying.")]
    Unreachable {
        /// `host:port` we tried.
        address: String,
    },
    /// The server refuses unencrypted connections and TLS mode is `disable`.
    #[error(
        "The server only accepts encrypted connections. Set the TLS mode to 'require' or stricter."
    )]
    TlsRequired,
    /// Our TLS mode insists on TLS, the server has none.
    #[error("TLS is required by your settings, but the server at {address} does not offer it.")]
    TlsUnavailable {
        /// `host:port` we tried.
        address: String,
    },
    /// Handshake or certificate verification failed.
    #[error("The secure connection failed: {detail}")]
    TlsFailed {
        /// The TLS library's description (certificates, not data).
        detail: String,
    },
    /// The database name is wrong (SQLSTATE 3D000).
    #[error("The server has no database named '{database}'. Check the database in your settings.")]
    UnknownDatabase {
        /// The name we asked for.
        database: String,
    },
    /// pg_hba.conf or role settings refuse this login (SQLSTATE 28000).
    #[error("The server refuses this login from this computer. Ask your administrator.")]
    AccessRejected,
    /// Starting up, shutting down, or out of connection slots.
    #[error("The central server is busy or restarting. Try again in a moment.")]
    Busy,
    /// The record changed since the caller read it (CD001).
    #[error(
        "Someone changed this claim since you opened it. Review the new version before deciding."
    )]
    VersionConflict,
    /// The caller's lease is gone (CD002).
    #[error("You no longer hold this claim: the lease expired or a supervisor reassigned it.")]
    LeaseLost,
    /// The state machine refuses (CD003).
    #[error("This action is not possible in the claim's current state.")]
    InvalidTransition,
    /// Grants or a function's role check refuse (42501, CD004).
    #[error("Your role does not allow this.")]
    PermissionDenied,
    /// A rule on the data refused the values (CD005, check and not-null violations).
    #[error("The server refused the values: {detail}")]
    Rejected {
        /// Which rule, in words safe to show (our own messages, or the constraint name).
        detail: String,
    },
    /// No such record (CD006).
    #[error("The record no longer exists or is not visible to you.")]
    NotFound,
    /// Nothing to check out (CD007).
    #[error("No claim is waiting in the queue.")]
    QueueEmpty,
    /// Central's checks of a decision refused it (CD008 to CD014), or the
    /// claim is someone else's (CD015). The detail is central's own
    /// sentence: it names the line, the rule or the holder, never an amount
    /// or a member.
    #[error("{detail}")]
    DecisionRefused {
        /// The stable code.
        code: ErrorCode,
        /// Central's words.
        detail: String,
    },
    /// Any other server error; only its SQLSTATE is kept.
    #[error("The central server reported an error (SQLSTATE {sqlstate}).")]
    Server {
        /// Five-character SQLSTATE.
        sqlstate: String,
    },
    /// Driver or protocol problems that are our bug, not the person's.
    #[error("Unexpected database client error; details are in the log.")]
    Internal,
}

impl CentralError {
    /// The stable code for the UI.
    pub fn code(&self) -> ErrorCode {
        match self {
            Self::AuthFailed => ErrorCode::AuthFailed,
            Self::Unreachable { .. } => ErrorCode::ServerUnreachable,
            Self::TlsRequired => ErrorCode::TlsRequired,
            Self::TlsUnavailable { .. } => ErrorCode::TlsUnavailable,
            Self::TlsFailed { .. } => ErrorCode::TlsFailed,
            Self::UnknownDatabase { .. } => ErrorCode::UnknownDatabase,
            Self::AccessRejected => ErrorCode::AccessRejected,
            Self::Busy => ErrorCode::ServerBusy,
            Self::VersionConflict => ErrorCode::VersionConflict,
            Self::LeaseLost => ErrorCode::LeaseLost,
            Self::InvalidTransition => ErrorCode::InvalidTransition,
            Self::PermissionDenied => ErrorCode::PermissionDenied,
            Self::Rejected { .. } => ErrorCode::InvalidInput,
            Self::NotFound => ErrorCode::NotFound,
            Self::QueueEmpty => ErrorCode::QueueEmpty,
            Self::DecisionRefused { code, .. } => *code,
            Self::Server { .. } => ErrorCode::ServerError,
            Self::Internal => ErrorCode::Internal,
        }
    }

    /// A mapper from driver errors to codes for these settings, for the
    /// local side (sync, outbox), which branches on codes only.
    pub fn code_mapper(settings: &CentralSettings) -> ErrorMapper {
        let settings = settings.clone();
        std::sync::Arc::new(move |e| Self::from_sqlx(e, &settings).code())
    }

    /// Maps a driver error, given the settings that produced it.
    pub fn from_sqlx(error: sqlx::Error, settings: &CentralSettings) -> Self {
        let address = || format!("{}:{}", settings.host, settings.port);
        match error {
            sqlx::Error::Database(db) => {
                let sqlstate = db.code().map(|c| c.into_owned()).unwrap_or_default();
                match sqlstate.as_str() {
                    "28P01" => Self::AuthFailed,
                    "3D000" => Self::UnknownDatabase {
                        database: settings.database.clone(),
                    },
                    // pg_hba.conf rejections share 28000 whatever the reason.
                    // With TLS off, the only rule a payer's server would have
                    // against us is `hostnossl ... reject`; the server's
                    // message ("no encryption" since PG 14, "SSL off" before)
                    // confirms it. This is the one place we read server text.
                    "28000"
                        if settings.tls_mode == TlsMode::Disable
                            && (db.message().contains("no encryption")
                                || db.message().contains("SSL off")) =>
                    {
                        Self::TlsRequired
                    }
                    "28000" => Self::AccessRejected,
                    // admin_shutdown, crash_shutdown, cannot_connect_now:
                    // the server is going away or not up yet.
                    "57P01" | "57P02" => Self::Unreachable { address: address() },
                    "57P03" | "53300" => Self::Busy,
                    "CD001" => Self::VersionConflict,
                    "CD002" => Self::LeaseLost,
                    "CD003" => Self::InvalidTransition,
                    "CD004" | "42501" => Self::PermissionDenied,
                    // Our own functions word CD005 for people, without data values.
                    "CD005" => Self::Rejected {
                        detail: db.message().to_string(),
                    },
                    // A check constraint's name says which rule, never the values.
                    "23514" | "23502" | "23503" | "23505" => Self::Rejected {
                        detail: db.constraint().unwrap_or("a data rule").to_string(),
                    },
                    "CD006" => Self::NotFound,
                    "CD007" => Self::QueueEmpty,
                    "CD008" | "CD009" | "CD010" | "CD011" | "CD012" | "CD013" | "CD014"
                    | "CD015" => Self::DecisionRefused {
                        code: match sqlstate.as_str() {
                            "CD008" => ErrorCode::FiguresRejected,
                            "CD009" => ErrorCode::AccumulatorsChanged,
                            "CD010" => ErrorCode::EngineDenies,
                            "CD011" => ErrorCode::OverrideRequired,
                            "CD012" => ErrorCode::SeparationOfDuties,
                            "CD013" => ErrorCode::AboveAuthority,
                            "CD015" => ErrorCode::ClaimHeld,
                            _ => ErrorCode::BenefitLimitReached,
                        },
                        detail: db.message().to_string(),
                    },
                    _ => {
                        tracing::warn!(%sqlstate, "central server error");
                        Self::Server { sqlstate }
                    }
                }
            }
            // rustls reports a failed handshake (bad certificate, name
            // mismatch) through the stream as InvalidData.
            sqlx::Error::Io(error)
                if error.kind() == std::io::ErrorKind::InvalidData
                    && settings.tls_mode != TlsMode::Disable =>
            {
                Self::TlsFailed {
                    detail: error.to_string(),
                }
            }
            sqlx::Error::Io(error) => {
                tracing::info!(%error, "central server unreachable");
                Self::Unreachable { address: address() }
            }
            sqlx::Error::PoolTimedOut | sqlx::Error::PoolClosed | sqlx::Error::WorkerCrashed => {
                Self::Unreachable { address: address() }
            }
            sqlx::Error::Tls(error) => {
                let detail = error.to_string();
                // sqlx's own wording when the server answers 'N' to SSLRequest.
                if detail.contains("does not support TLS") {
                    Self::TlsUnavailable { address: address() }
                } else {
                    Self::TlsFailed { detail }
                }
            }
            other => {
                tracing::error!(error = %other, "unexpected database client error");
                Self::Internal
            }
        }
    }
}

/// What the status screen shows after login.
#[derive(Debug, Clone, PartialEq, Serialize, specta::Type)]
pub struct ConnectionStatus {
    /// `SHOW server_version`, e.g. `15.18 (Debian 15.18-0+deb12u1)`.
    pub server_version: String,
    /// `current_database()`.
    pub database: String,
    /// `current_user`, the login role.
    pub user: String,
    /// The staff groups the login belongs to (directly or through another),
    /// which decide the rooms the UI offers. Central enforces them anyway.
    pub roles: Vec<crate::users::StaffRole>,
    /// `host:port` from the settings.
    pub address: String,
    /// Round trip of a trivial query on an open connection, in milliseconds.
    pub latency_ms: f64,
    /// TLS protocol version when encrypted, e.g. `TLSv1.3`.
    pub tls: Option<String>,
    /// When the status was taken (the caller's clock).
    pub checked_at: DateTime<Utc>,
}

/// A logged-in connection to the central database. The pool reconnects by
/// itself after an outage, so a session outlives a dropped VPN.
#[derive(Debug, Clone)]
pub struct CentralSession {
    pool: PgPool,
    settings: CentralSettings,
    username: String,
}

impl CentralSession {
    /// Logs in: opens the first connection now, so a wrong password or a
    /// down server is reported at the login screen, not later.
    pub async fn connect(
        settings: &CentralSettings,
        credentials: &Credentials,
    ) -> Result<Self, CentralError> {
        let options = connect_options(settings, credentials);
        let pool = PgPoolOptions::new()
            .max_connections(4)
            .min_connections(0)
            .acquire_timeout(CONNECT_TIMEOUT)
            .idle_timeout(Duration::from_secs(300))
            .test_before_acquire(true)
            .connect_with(options)
            .await
            .map_err(|e| CentralError::from_sqlx(e, settings))?;
        tracing::info!(user = %credentials.username, host = %settings.host, "logged in to central");
        Ok(Self {
            pool,
            settings: settings.clone(),
            username: credentials.username.clone(),
        })
    }

    /// The login role of this session.
    pub fn username(&self) -> &str {
        &self.username
    }

    /// The connection pool, for the modules that query central.
    pub fn pool(&self) -> &PgPool {
        &self.pool
    }

    /// Maps an error from a query on this session.
    pub fn map_err(&self, error: sqlx::Error) -> CentralError {
        CentralError::from_sqlx(error, &self.settings)
    }

    /// Reads the status, measuring latency on an already-open connection so
    /// the figure is the network and server, not connection set-up.
    pub async fn status(&self, now: DateTime<Utc>) -> Result<ConnectionStatus, CentralError> {
        let mut conn = self.pool.acquire().await.map_err(|e| self.map_err(e))?;
        let started = Instant::now();
        sqlx::query("SELECT 1")
            .execute(&mut *conn)
            .await
            .map_err(|e| self.map_err(e))?;
        let latency = started.elapsed();
        let (server_version, database, user, tls): (String, String, String, Option<String>) =
            sqlx::query_as(
                "SELECT current_setting('server_version'), current_database(), current_user::text, \
                 (SELECT version FROM pg_stat_ssl WHERE pid = pg_backend_pid() AND ssl)",
            )
            .fetch_one(&mut *conn)
            .await
            .map_err(|e| self.map_err(e))?;
        let groups: Vec<String> = sqlx::query_scalar(
            "SELECT g FROM unnest($1::text[]) g WHERE pg_has_role(current_user, g, 'MEMBER')",
        )
        .bind(StaffRole::ALL.map(StaffRole::group).to_vec())
        .fetch_all(&mut *conn)
        .await
        .map_err(|e| self.map_err(e))?;
        let roles = StaffRole::ALL
            .into_iter()
            .filter(|r| groups.iter().any(|g| g == r.group()))
            .collect();
        Ok(ConnectionStatus {
            server_version,
            database,
            user,
            roles,
            address: format!("{}:{}", self.settings.host, self.settings.port),
            latency_ms: (latency.as_secs_f64() * 1000.0 * 100.0).round() / 100.0,
            tls,
            checked_at: now,
        })
    }

    /// Closes every connection; used at logout.
    pub async fn close(&self) {
        self.pool.close().await;
    }
}

fn connect_options(settings: &CentralSettings, credentials: &Credentials) -> PgConnectOptions {
    let mut options = PgConnectOptions::new_without_pgpass()
        .host(&settings.host)
        .port(settings.port)
        .database(&settings.database)
        .username(&credentials.username)
        .password(credentials.password.expose())
        .application_name("claimdesk")
        .ssl_mode(match settings.tls_mode {
            TlsMode::Disable => PgSslMode::Disable,
            TlsMode::Prefer => PgSslMode::Prefer,
            TlsMode::Require => PgSslMode::Require,
            TlsMode::VerifyCa => PgSslMode::VerifyCa,
            TlsMode::VerifyFull => PgSslMode::VerifyFull,
        })
        // SQL text can carry literals; keep it out of the logs entirely.
        .disable_statement_logging();
    if let Some(cert) = &settings.tls_root_cert {
        options = options.ssl_root_cert(cert);
    }
    options
}
