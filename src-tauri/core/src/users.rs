//! People's login roles: one PostgreSQL login per person, in one staff group.

use std::fmt;
use std::str::FromStr;

use sqlx::PgConnection;

use crate::{scram, Secret};

/// The staff groups a login can belong to.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize, serde::Deserialize, specta::Type)]
#[serde(rename_all = "snake_case")]
pub enum StaffRole {
    /// Works the claim queue.
    Adjudicator,
    /// Verifies providers' credentials.
    Credentialing,
    /// Reviews the team's work and the audit trail; also adjudicates.
    Supervisor,
    /// Owns the schema.
    Admin,
}

impl StaffRole {
    /// All roles, in the order the UI lists them.
    pub const ALL: [StaffRole; 4] = [
        Self::Adjudicator,
        Self::Credentialing,
        Self::Supervisor,
        Self::Admin,
    ];

    /// The PostgreSQL group role.
    pub fn group(self) -> &'static str {
        match self {
            Self::Adjudicator => "claimdesk_adjudicator",
            Self::Credentialing => "claimdesk_credentialing",
            Self::Supervisor => "claimdesk_supervisor",
            Self::Admin => "claimdesk_admin",
        }
    }
}

impl fmt::Display for StaffRole {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.group()["claimdesk_".len()..])
    }
}

impl FromStr for StaffRole {
    type Err = String;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Self::ALL
            .into_iter()
            .find(|r| r.to_string() == s)
            .ok_or_else(|| {
                format!("unknown role '{s}': use adjudicator, credentialing, supervisor or admin")
            })
    }
}

/// Why a login could not be added.
#[derive(Debug, thiserror::Error)]
pub enum AddUserError {
    /// The name is empty, too long or has characters we refuse.
    #[error("a login name has 1 to 63 characters: lower-case letters, digits, '_', '.' or '-'")]
    BadName,
    /// The password is too short.
    #[error("the password needs at least 8 characters")]
    WeakPassword,
    /// A role of that name exists.
    #[error("a login named {0} exists already")]
    Exists(String),
    /// The server refused.
    #[error(transparent)]
    Database(#[from] sqlx::Error),
}

/// What [`add_user`] did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Added {
    /// A new login.
    Created,
    /// The login existed and `exists_ok` was set; nothing changed.
    Existed,
}

/// Creates a login role in `role`'s group. Only a SCRAM verifier leaves this
/// process, so the password never reaches the server's logs.
pub async fn add_user(
    conn: &mut PgConnection,
    username: &str,
    password: &Secret<String>,
    role: StaffRole,
    exists_ok: bool,
) -> Result<Added, AddUserError> {
    let name_ok = !username.is_empty()
        && username.len() <= 63
        && username
            .chars()
            .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || "_.-".contains(c));
    if !name_ok {
        return Err(AddUserError::BadName);
    }
    if password.expose().chars().count() < 8 {
        return Err(AddUserError::WeakPassword);
    }
    let exists: bool =
        sqlx::query_scalar("SELECT EXISTS (SELECT FROM pg_roles WHERE rolname = $1)")
            .bind(username)
            .fetch_one(&mut *conn)
            .await?;
    if exists {
        return if exists_ok {
            Ok(Added::Existed)
        } else {
            Err(AddUserError::Exists(username.to_string()))
        };
    }
    // Names and passwords cannot be bind parameters in DDL; the server's own
    // format(%I, %L) quotes them.
    let ddl: String = sqlx::query_scalar(
        "SELECT format('CREATE ROLE %I LOGIN PASSWORD %L IN ROLE %I', $1::text, $2::text, $3::text)",
    )
    .bind(username)
    .bind(scram::verifier(password.expose()))
    .bind(role.group())
    .fetch_one(&mut *conn)
    .await?;
    sqlx::raw_sql(&ddl).execute(&mut *conn).await?;
    Ok(Added::Created)
}
