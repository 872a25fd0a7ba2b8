//! Central database settings: a TOML file in the OS config directory, then
//! environment overrides on top (used by the demo, tests and managed installs).

use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

use crate::error::ErrorCode;

/// File name of the settings file inside the config directory.
pub const SETTINGS_FILE: &str = "settings.toml";

/// How the client negotiates TLS with the central server. Same meanings as
/// libpq's `sslmode`, so DBAs can reason about it the way they already do.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, specta::Type)]
#[serde(rename_all = "kebab-case")]
pub enum TlsMode {
    /// Never use TLS.
    Disable,
    /// Use TLS when the server offers it; fall back to plaintext otherwise.
    Prefer,
    /// Insist on TLS but do not verify the certificate.
    Require,
    /// Insist on TLS and verify the certificate chain.
    VerifyCa,
    /// Insist on TLS, verify the chain and the host name.
    VerifyFull,
}

impl TlsMode {
    fn parse(value: &str) -> Option<Self> {
        Some(match value {
            "disable" => Self::Disable,
            "prefer" => Self::Prefer,
            "require" => Self::Require,
            "verify-ca" => Self::VerifyCa,
            "verify-full" => Self::VerifyFull,
            _ => return None,
        })
    }
}

/// Where the central PostgreSQL server is. Credentials are never stored here:
/// each person logs in with their own database role.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, specta::Type)]
#[serde(default, deny_unknown_fields)]
pub struct CentralSettings {
    /// Host name or IP address.
    pub host: String,
    /// TCP port.
    pub port: u16,
    /// Database name.
    pub database: String,
    /// TLS negotiation mode.
    pub tls_mode: TlsMode,
    /// CA bundle for `verify-ca` / `verify-full`; the system roots otherwise.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub tls_root_cert: Option<PathBuf>,
}

impl Default for CentralSettings {
    fn default() -> Self {
        Self {
            host: "localhost".into(),
            port: 5432,
            database: "claimdesk".into(),
            tls_mode: TlsMode::Prefer,
            tls_root_cert: None,
        }
    }
}

/// How much of the person's documents this computer keeps.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, specta::Type)]
#[serde(default, deny_unknown_fields)]
pub struct DocumentSettings {
    /// Cap on document files in the encrypted cache, in MiB; the least
    /// recently opened go first past it.
    pub cache_mib: u32,
}

impl Default for DocumentSettings {
    fn default() -> Self {
        Self { cache_mib: 1024 }
    }
}

impl DocumentSettings {
    /// The cap in bytes.
    pub fn cap_bytes(&self) -> u64 {
        u64::from(self.cache_mib) * 1024 * 1024
    }
}

/// Where the NPI Registry is (tests and air-gapped sites point it elsewhere).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, specta::Type)]
#[serde(default, deny_unknown_fields)]
pub struct RegistrySettings {
    /// Base URL of the NPPES NPI Registry API.
    pub nppes_base_url: String,
    /// Seconds a lookup may take.
    pub timeout_secs: u32,
}

impl Default for RegistrySettings {
    fn default() -> Self {
        Self {
            nppes_base_url: crate::nppes::DEFAULT_BASE_URL.into(),
            timeout_secs: 10,
        }
    }
}

/// The signed-in session.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct SessionSettings {
    /// Minutes without keyboard or mouse before the window locks, 1 to
    /// [`MAX_LOCK_AFTER_MINUTES`].
    pub lock_after_minutes: u32,
}

/// The longest inactivity timeout a site may set: seed 001's 30-minute
/// session timeout. The lock cannot be turned off.
pub const MAX_LOCK_AFTER_MINUTES: u32 = 30;

impl Default for SessionSettings {
    fn default() -> Self {
        // HIPAA leaves the figure to the entity; 15 minutes is the common
        // policy for workstations showing PHI.
        Self {
            lock_after_minutes: 15,
        }
    }
}

/// The whole settings file. One section per concern so later issues can add
/// theirs without breaking existing files.
#[derive(Debug, Clone, Default, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
struct SettingsFile {
    #[serde(default)]
    central: Option<CentralSettings>,
    #[serde(default)]
    documents: Option<DocumentSettings>,
    #[serde(default)]
    registries: Option<RegistrySettings>,
    #[serde(default)]
    session: Option<SessionSettings>,
}

/// Settings as loaded, with where each part came from.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, specta::Type)]
pub struct LoadedSettings {
    /// The effective central settings.
    pub central: CentralSettings,
    /// The effective document settings.
    pub documents: DocumentSettings,
    /// The outside registries.
    pub registries: RegistrySettings,
    /// The inactivity timeout in force, in seconds: the file's
    /// `[session] lock_after_minutes`, or the environment's seconds.
    pub lock_after_secs: u32,
    /// How often the desk renews the lease on the claim open in the
    /// workspace: every minute against a 15-minute lease, so a few missed
    /// beats (a slow network) never lose it; the environment's seconds for
    /// tests.
    pub lease_renew_secs: u32,
    /// The file that was read, or would be read if it existed.
    pub file: PathBuf,
    /// Whether that file existed.
    pub file_found: bool,
    /// Names of the environment variables that overrode the file.
    pub overridden_by: Vec<String>,
}

/// Why settings could not be loaded. Never silently replaced by defaults:
/// connecting to the wrong server is worse than not connecting.
#[derive(Debug, thiserror::Error)]
pub enum SettingsError {
    /// The file exists but could not be read.
    #[error("cannot read settings file {path}: {source}")]
    Unreadable {
        /// The file.
        path: PathBuf,
        /// The I/O error.
        source: std::io::Error,
    },
    /// The file is not valid TOML or has unknown or mistyped keys.
    #[error("settings file {path} is invalid: {message}")]
    Malformed {
        /// The file.
        path: PathBuf,
        /// What the parser said, including line and column.
        message: String,
    },
    /// An environment override has a value of the wrong type.
    #[error("environment variable {name} has an invalid value: {expected}")]
    BadOverride {
        /// The variable.
        name: &'static str,
        /// What it should look like.
        expected: &'static str,
    },
}

impl SettingsError {
    /// The stable code for the UI.
    pub fn code(&self) -> ErrorCode {
        ErrorCode::SettingsInvalid
    }
}

/// Environment variables that override the file, in one place for the README.
pub mod env {
    /// Host name override.
    pub const HOST: &str = "CLAIMDESK_CENTRAL_HOST";
    /// Port override.
    pub const PORT: &str = "CLAIMDESK_CENTRAL_PORT";
    /// Database override.
    pub const DATABASE: &str = "CLAIMDESK_CENTRAL_DATABASE";
    /// TLS mode override (`disable`, `prefer`, `require`, `verify-ca`, `verify-full`).
    pub const TLS_MODE: &str = "CLAIMDESK_CENTRAL_TLS_MODE";
    /// CA bundle override.
    pub const TLS_ROOT_CERT: &str = "CLAIMDESK_CENTRAL_TLS_ROOT_CERT";
    /// Document cache cap override, in MiB.
    pub const DOCUMENT_CACHE_MIB: &str = "CLAIMDESK_DOCUMENT_CACHE_MIB";
    /// NPI Registry base URL override (the tests' replay server).
    pub const NPPES_BASE_URL: &str = "CLAIMDESK_NPPES_BASE_URL";
    /// Inactivity timeout override in seconds, 5 to 1800 (demos, tests).
    pub const LOCK_AFTER_SECONDS: &str = "CLAIMDESK_LOCK_AFTER_SECONDS";
    /// Lease renewal period override in seconds, 1 to 300 (tests).
    pub const LEASE_RENEW_SECONDS: &str = "CLAIMDESK_LEASE_RENEW_SECONDS";
}

/// Lease renewals every minute by default.
pub const DEFAULT_LEASE_RENEW_SECS: u32 = 60;

/// Loads settings from `config_dir/settings.toml`, then applies overrides
/// read through `var` (pass `|k| std::env::var(k).ok()` in production).
pub fn load(
    config_dir: &Path,
    var: impl Fn(&str) -> Option<String>,
) -> Result<LoadedSettings, SettingsError> {
    let file = config_dir.join(SETTINGS_FILE);
    let (mut central, mut documents, mut registries, session, file_found) =
        match std::fs::read_to_string(&file) {
            Ok(text) => {
                let parsed: SettingsFile =
                    toml::from_str(&text).map_err(|e| SettingsError::Malformed {
                        path: file.clone(),
                        message: e.to_string(),
                    })?;
                (
                    parsed.central.unwrap_or_default(),
                    parsed.documents.unwrap_or_default(),
                    parsed.registries.unwrap_or_default(),
                    parsed.session.unwrap_or_default(),
                    true,
                )
            }
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => (
                CentralSettings::default(),
                DocumentSettings::default(),
                RegistrySettings::default(),
                SessionSettings::default(),
                false,
            ),
            Err(source) => {
                return Err(SettingsError::Unreadable {
                    path: file.clone(),
                    source,
                })
            }
        };

    let mut overridden_by = Vec::new();
    let mut take = |name: &'static str| {
        var(name).filter(|v| !v.is_empty()).inspect(|_| {
            overridden_by.push(name.to_string());
        })
    };
    if let Some(host) = take(env::HOST) {
        central.host = host;
    }
    if let Some(port) = take(env::PORT) {
        central.port = port
            .parse()
            .ok()
            .filter(|p| *p != 0)
            .ok_or(SettingsError::BadOverride {
                name: env::PORT,
                expected: "a TCP port between 1 and 65535",
            })?;
    }
    if let Some(database) = take(env::DATABASE) {
        central.database = database;
    }
    if let Some(mode) = take(env::TLS_MODE) {
        central.tls_mode = TlsMode::parse(&mode).ok_or(SettingsError::BadOverride {
            name: env::TLS_MODE,
            expected: "one of disable, prefer, require, verify-ca, verify-full",
        })?;
    }
    if let Some(cert) = take(env::TLS_ROOT_CERT) {
        central.tls_root_cert = Some(PathBuf::from(cert));
    }
    if let Some(mib) = take(env::DOCUMENT_CACHE_MIB) {
        documents.cache_mib = mib.parse().ok().ok_or(SettingsError::BadOverride {
            name: env::DOCUMENT_CACHE_MIB,
            expected: "a whole number of MiB",
        })?;
    }

    if let Some(url) = take(env::NPPES_BASE_URL) {
        registries.nppes_base_url = url;
    }
    if !(1..=MAX_LOCK_AFTER_MINUTES).contains(&session.lock_after_minutes) {
        return Err(SettingsError::Malformed {
            path: file,
            message: format!(
                "session.lock_after_minutes must be between 1 and {MAX_LOCK_AFTER_MINUTES}"
            ),
        });
    }
    let mut lock_after_secs = session.lock_after_minutes * 60;
    if let Some(secs) = take(env::LOCK_AFTER_SECONDS) {
        lock_after_secs = secs
            .parse()
            .ok()
            .filter(|s| (5..=MAX_LOCK_AFTER_MINUTES * 60).contains(s))
            .ok_or(SettingsError::BadOverride {
                name: env::LOCK_AFTER_SECONDS,
                expected: "a whole number of seconds from 5 to 1800",
            })?;
    }
    let mut lease_renew_secs = DEFAULT_LEASE_RENEW_SECS;
    if let Some(secs) = take(env::LEASE_RENEW_SECONDS) {
        lease_renew_secs = secs.parse().ok().filter(|s| (1..=300).contains(s)).ok_or(
            SettingsError::BadOverride {
                name: env::LEASE_RENEW_SECONDS,
                expected: "a whole number of seconds from 1 to 300",
            },
        )?;
    }

    Ok(LoadedSettings {
        central,
        documents,
        registries,
        lock_after_secs,
        lease_renew_secs,
        file,
        file_found,
        overridden_by,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::HashMap;

    fn vars(pairs: &[(&str, &str)]) -> impl Fn(&str) -> Option<String> {
        let map: HashMap<String, String> = pairs
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect();
        move |k| map.get(k).cloned()
    }

    #[test]
    fn missing_file_gives_defaults() {
        let dir = tempfile::tempdir().unwrap();
        let loaded = load(dir.path(), vars(&[])).unwrap();
        assert_eq!(loaded.central, CentralSettings::default());
        assert!(!loaded.file_found);
        assert!(loaded.overridden_by.is_empty());
    }

    #[test]
    fn lock_timeout_comes_from_the_file_or_the_environment_within_bounds() {
        let dir = tempfile::tempdir().unwrap();
        assert_eq!(
            load(dir.path(), vars(&[])).unwrap().lock_after_secs,
            15 * 60
        );
        std::fs::write(
            dir.path().join(SETTINGS_FILE),
            "[session]\nlock_after_minutes = 5\n",
        )
        .unwrap();
        let file = load(dir.path(), vars(&[])).unwrap();
        assert_eq!(file.lock_after_secs, 300);
        assert_eq!(file.lease_renew_secs, DEFAULT_LEASE_RENEW_SECS);
        let quick = load(dir.path(), vars(&[(env::LEASE_RENEW_SECONDS, "2")])).unwrap();
        assert_eq!(quick.lease_renew_secs, 2);
        assert!(load(dir.path(), vars(&[(env::LEASE_RENEW_SECONDS, "0")])).is_err());
        let env = load(dir.path(), vars(&[(env::LOCK_AFTER_SECONDS, "8")])).unwrap();
        assert_eq!(env.lock_after_secs, 8);
        for bad in ["0", "4", "1801", "soon"] {
            let err = load(dir.path(), vars(&[(env::LOCK_AFTER_SECONDS, bad)])).unwrap_err();
            assert!(err.to_string().contains(env::LOCK_AFTER_SECONDS), "{err}");
        }
        for minutes in ["0", "31"] {
            std::fs::write(
                dir.path().join(SETTINGS_FILE),
                format!("[session]\nlock_after_minutes = {minutes}\n"),
            )
            .unwrap();
            let err = load(dir.path(), vars(&[])).unwrap_err();
            assert!(err.to_string().contains("lock_after_minutes"), "{err}");
        }
    }

    #[test]
    fn file_is_read_and_env_overrides_it() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(
            dir.path().join(SETTINGS_FILE),
            "[central]\nhost = \"db.payer.example\"\nport = 6432\ndatabase = \"claims\"\ntls_mode = \"verify-full\"\n",
        )
        .unwrap();
        let from_file = load(dir.path(), vars(&[])).unwrap();
        assert_eq!(from_file.central.host, "db.payer.example");
        assert_eq!(from_file.central.port, 6432);
        assert_eq!(from_file.central.tls_mode, TlsMode::VerifyFull);
        assert!(from_file.file_found);

        let overridden = load(
            dir.path(),
            vars(&[(env::PORT, "55432"), (env::TLS_MODE, "disable")]),
        )
        .unwrap();
        assert_eq!(overridden.central.host, "db.payer.example");
        assert_eq!(overridden.central.port, 55432);
        assert_eq!(overridden.central.tls_mode, TlsMode::Disable);
        assert_eq!(overridden.overridden_by, vec![env::PORT, env::TLS_MODE]);
    }

    #[test]
    fn document_cache_cap_comes_from_the_file_or_the_environment() {
        let dir = tempfile::tempdir().unwrap();
        assert_eq!(
            load(dir.path(), vars(&[])).unwrap().documents.cap_bytes(),
            1024 * 1024 * 1024
        );
        std::fs::write(
            dir.path().join(SETTINGS_FILE),
            "[documents]\ncache_mib = 200\n",
        )
        .unwrap();
        assert_eq!(
            load(dir.path(), vars(&[])).unwrap().documents.cache_mib,
            200
        );
        let env_wins = load(dir.path(), vars(&[(env::DOCUMENT_CACHE_MIB, "64")])).unwrap();
        assert_eq!(env_wins.documents.cap_bytes(), 64 * 1024 * 1024);
        let err = load(dir.path(), vars(&[(env::DOCUMENT_CACHE_MIB, "lots")])).unwrap_err();
        assert!(err.to_string().contains(env::DOCUMENT_CACHE_MIB), "{err}");
    }

    #[test]
    fn the_npi_registry_defaults_to_the_public_one_and_can_be_pointed_elsewhere() {
        let dir = tempfile::tempdir().unwrap();
        let defaults = load(dir.path(), vars(&[])).unwrap().registries;
        assert_eq!(
            defaults.nppes_base_url,
            "https://npiregistry.cms.hhs.gov/api/"
        );
        assert_eq!(defaults.timeout_secs, 10);
        std::fs::write(
            dir.path().join(SETTINGS_FILE),
            "[registries]\nnppes_base_url = \"https://nppes.mirror.payer.example/api/\"\ntimeout_secs = 20\n",
        )
        .unwrap();
        let file = load(dir.path(), vars(&[])).unwrap().registries;
        assert_eq!(
            (file.nppes_base_url.as_str(), file.timeout_secs),
            ("https://nppes.mirror.payer.example/api/", 20)
        );
        let replay = load(
            dir.path(),
            vars(&[(env::NPPES_BASE_URL, "http://127.0.0.1:9/api/")]),
        )
        .unwrap();
        assert_eq!(replay.registries.nppes_base_url, "http://127.0.0.1:9/api/");
    }

    #[test]
    fn malformed_file_is_an_error_not_a_silent_default() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(
            dir.path().join(SETTINGS_FILE),
            "[central]\nport = \"five\"\n",
        )
        .unwrap();
        let err = load(dir.path(), vars(&[])).unwrap_err();
        assert!(matches!(err, SettingsError::Malformed { .. }), "{err}");
        assert_eq!(err.code(), ErrorCode::SettingsInvalid);

        std::fs::write(
            dir.path().join(SETTINGS_FILE),
            "[central]\nhots = \"typo\"\n",
        )
        .unwrap();
        assert!(matches!(
            load(dir.path(), vars(&[])),
            Err(SettingsError::Malformed { .. })
        ));
    }

    #[test]
    fn bad_override_names_the_variable() {
        let dir = tempfile::tempdir().unwrap();
        let err = load(dir.path(), vars(&[(env::PORT, "not-a-port")])).unwrap_err();
        assert!(err.to_string().contains(env::PORT), "{err}");
        let err = load(dir.path(), vars(&[(env::TLS_MODE, "maybe")])).unwrap_err();
        assert!(err.to_string().contains(env::TLS_MODE), "{err}");
    }
}
