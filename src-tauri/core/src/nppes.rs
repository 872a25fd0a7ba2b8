//! The NPPES NPI Registry (CMS), API version 2.1: what the national registry
//! says about a provider, for credentialing staff to compare with our
//! record. The base URL is a setting (tests point it at a local server that
//! replays recorded answers); the code path is the same either way.

use std::sync::Arc;
use std::time::Duration;

use serde::{Deserialize, Serialize};

use crate::domain::npi::{self, NpiProblem};
use crate::ErrorCode;

/// The public registry.
pub const DEFAULT_BASE_URL: &str = "https://npiregistry.cms.hhs.gov/api/";
/// How long a lookup may take before the person is told the registry is slow.
pub const DEFAULT_TIMEOUT: Duration = Duration::from_secs(10);
/// Most results the registry returns for one search.
pub const MAX_RESULTS: u32 = 200;

/// Why the registry gave no usable answer.
#[derive(Debug, thiserror::Error)]
pub enum NppesError {
    /// The NPI typed is not one; the registry was not asked.
    #[error(transparent)]
    InvalidNpi(#[from] NpiProblem),
    /// A search with nothing to search by; the registry was not asked.
    #[error("Give a name, an organization, a taxonomy or a place to search the NPI Registry.")]
    NoCriteria,
    /// The registry answered with its own errors (`{"Errors": [...]}`).
    #[error("The NPI Registry refused the search: {}", .0.join("; "))]
    Refused(Vec<String>),
    /// No answer in time.
    #[error("The NPI Registry did not answer within {} seconds. Try again later.", .0.as_secs())]
    Timeout(Duration),
    /// No connection.
    #[error("The NPI Registry cannot be reached from this computer.")]
    Unreachable,
    /// An HTTP error status.
    #[error("The NPI Registry answered with HTTP status {0}. Try again later.")]
    Status(u16),
    /// An answer that is not the registry's JSON.
    #[error("The NPI Registry's answer could not be read (it is not the JSON the API documents).")]
    Malformed,
    /// The configured base URL is not a URL.
    #[error("The NPI Registry address in the settings is not a valid URL.")]
    BadBaseUrl,
}

impl NppesError {
    /// The stable code for the UI.
    pub fn code(&self) -> ErrorCode {
        match self {
            Self::InvalidNpi(_) | Self::NoCriteria => ErrorCode::InvalidInput,
            Self::Refused(_) => ErrorCode::RegistryRefused,
            Self::Timeout(_) | Self::Unreachable | Self::Status(_) => {
                ErrorCode::RegistryUnreachable
            }
            Self::Malformed => ErrorCode::RegistryMalformed,
            Self::BadBaseUrl => ErrorCode::SettingsInvalid,
        }
    }
}

/// Individual (NPI-1) or organization (NPI-2).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, specta::Type)]
#[serde(rename_all = "snake_case")]
pub enum EntityKind {
    /// A person.
    Individual,
    /// A group, facility or supplier.
    Organization,
}

/// An address as the registry lists it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, specta::Type)]
pub struct RegistryAddress {
    /// `LOCATION` (practice) or `MAILING`.
    pub purpose: String,
    /// First line.
    pub line1: String,
    /// Second line, when there is one.
    pub line2: Option<String>,
    /// City.
    pub city: String,
    /// State (two letters) for US addresses.
    pub state: String,
    /// ZIP or ZIP+4, digits only as the registry gives them.
    pub postal_code: String,
    /// Telephone.
    pub phone: Option<String>,
}

/// A taxonomy (specialty) with the license the registry lists for it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, specta::Type)]
pub struct RegistryTaxonomy {
    /// Health Care Provider Taxonomy code, e.g. 207L00000X.
    pub code: String,
    /// Its description, e.g. Anesthesiology.
    pub description: String,
    /// The provider's primary taxonomy.
    pub primary: bool,
    /// License state.
    pub state: Option<String>,
    /// License number.
    pub license: Option<String>,
}

/// One provider as the NPI Registry has it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, specta::Type)]
pub struct RegistryRecord {
    /// The NPI.
    pub npi: String,
    /// Individual or organization.
    pub kind: EntityKind,
    /// The name: "LAST, FIRST MIDDLE" for people, the legal name for organizations.
    pub name: String,
    /// First name (individuals).
    pub first_name: Option<String>,
    /// Last name (individuals).
    pub last_name: Option<String>,
    /// Organization name (organizations).
    pub organization_name: Option<String>,
    /// Credential letters, e.g. MD, DO, CRNA.
    pub credential: Option<String>,
    /// `A` for active.
    pub status: Option<String>,
    /// When the NPI was issued (YYYY-MM-DD).
    pub enumeration_date: Option<String>,
    /// When the record last changed (YYYY-MM-DD).
    pub last_updated: Option<String>,
    /// Addresses, practice location first.
    pub addresses: Vec<RegistryAddress>,
    /// Taxonomies, primary first.
    pub taxonomies: Vec<RegistryTaxonomy>,
}

/// A search of the registry; at least one field besides `limit`.
#[derive(Debug, Clone, Default, PartialEq, Eq, Deserialize, specta::Type)]
pub struct RegistryQuery {
    /// First name (individuals).
    pub first_name: Option<String>,
    /// Last name (individuals).
    pub last_name: Option<String>,
    /// Organization name.
    pub organization_name: Option<String>,
    /// Taxonomy description, e.g. "Family Medicine".
    pub taxonomy_description: Option<String>,
    /// City.
    pub city: Option<String>,
    /// Two-letter state.
    pub state: Option<String>,
    /// Most results wanted (the registry's limit is 200).
    pub limit: Option<u32>,
}

/// A client of the registry.
#[derive(Debug, Clone)]
pub struct Registry {
    http: reqwest::Client,
    base: reqwest::Url,
    timeout: Duration,
}

/// rustls on ring with the Mozilla roots (see Cargo.toml for why).
fn tls() -> rustls::ClientConfig {
    let mut roots = rustls::RootCertStore::empty();
    roots.extend(webpki_roots::TLS_SERVER_ROOTS.iter().cloned());
    rustls::ClientConfig::builder_with_provider(Arc::new(rustls::crypto::ring::default_provider()))
        .with_safe_default_protocol_versions()
        .expect("ring supports TLS 1.2 and 1.3")
        .with_root_certificates(roots)
        .with_no_client_auth()
}

impl Registry {
    /// A client for the registry at `base_url` (normally [`DEFAULT_BASE_URL`]).
    pub fn new(base_url: &str, timeout: Duration) -> Result<Self, NppesError> {
        let base = reqwest::Url::parse(base_url).map_err(|_| NppesError::BadBaseUrl)?;
        if !matches!(base.scheme(), "http" | "https") {
            return Err(NppesError::BadBaseUrl);
        }
        let http = reqwest::Client::builder()
            .tls_backend_preconfigured(tls())
            .timeout(timeout)
            .connect_timeout(timeout)
            .user_agent(concat!("ClaimDesk/", env!("CARGO_PKG_VERSION")))
            .build()
            .map_err(|_| NppesError::BadBaseUrl)?;
        Ok(Self {
            http,
            base,
            timeout,
        })
    }

    /// The registry's record of `npi`, None when it has none. The NPI is
    /// checked first, so a typo never reaches the registry.
    pub async fn by_npi(&self, npi: &str) -> Result<Option<RegistryRecord>, NppesError> {
        let npi = npi.trim();
        npi::check(npi)?;
        let found = self.get(&[("number", npi.to_string())]).await?;
        Ok(found.into_iter().find(|r| r.npi == npi))
    }

    /// Providers matching `query`, as the registry orders them.
    pub async fn search(&self, query: &RegistryQuery) -> Result<Vec<RegistryRecord>, NppesError> {
        let mut params: Vec<(&str, String)> = Vec::new();
        let fields = [
            ("first_name", &query.first_name),
            ("last_name", &query.last_name),
            ("organization_name", &query.organization_name),
            ("taxonomy_description", &query.taxonomy_description),
            ("city", &query.city),
            ("state", &query.state),
        ];
        for (name, value) in fields {
            if let Some(v) = value.as_deref().map(str::trim).filter(|v| !v.is_empty()) {
                params.push((name, v.to_string()));
            }
        }
        if params.is_empty() {
            return Err(NppesError::NoCriteria);
        }
        let limit = query.limit.unwrap_or(50).clamp(1, MAX_RESULTS);
        params.push(("limit", limit.to_string()));
        self.get(&params).await
    }

    async fn get(&self, params: &[(&str, String)]) -> Result<Vec<RegistryRecord>, NppesError> {
        let mut query: Vec<(&str, &str)> = vec![("version", "2.1")];
        query.extend(params.iter().map(|(k, v)| (*k, v.as_str())));
        let response = self
            .http
            .get(self.base.clone())
            .query(&query)
            .send()
            .await
            .map_err(|e| self.transport(&e))?;
        let status = response.status();
        let body = response.bytes().await.map_err(|e| self.transport(&e))?;
        // The registry answers its own errors with 200 and {"Errors": [...]};
        // read the body before judging the status.
        match serde_json::from_slice::<Answer>(&body) {
            Ok(Answer::Errors { errors }) => Err(NppesError::Refused(
                errors.into_iter().map(|e| e.description).collect(),
            )),
            Ok(Answer::Results { results, .. }) if status.is_success() => Ok(results
                .into_iter()
                .filter_map(RawRecord::into_record)
                .collect()),
            _ if !status.is_success() => Err(NppesError::Status(status.as_u16())),
            _ => Err(NppesError::Malformed),
        }
    }

    fn transport(&self, e: &reqwest::Error) -> NppesError {
        if e.is_timeout() {
            NppesError::Timeout(self.timeout)
        } else if e.is_decode() || e.is_body() {
            NppesError::Malformed
        } else {
            NppesError::Unreachable
        }
    }
}

// The registry's JSON, as recorded answers show it. Everything optional:
// the registry leaves fields out freely.
#[derive(Deserialize)]
#[serde(untagged)]
enum Answer {
    Errors {
        #[serde(rename = "Errors")]
        errors: Vec<RawError>,
    },
    Results {
        // Required: it is what tells the registry's answer from any JSON.
        #[allow(dead_code)]
        result_count: u64,
        #[serde(default)]
        results: Vec<RawRecord>,
    },
}

#[derive(Deserialize)]
struct RawError {
    #[serde(default)]
    description: String,
}

#[derive(Deserialize)]
struct RawRecord {
    enumeration_type: Option<String>,
    number: serde_json::Value,
    #[serde(default)]
    basic: RawBasic,
    #[serde(default)]
    addresses: Vec<RawAddress>,
    #[serde(default)]
    taxonomies: Vec<RawTaxonomy>,
}

#[derive(Deserialize, Default)]
struct RawBasic {
    first_name: Option<String>,
    last_name: Option<String>,
    middle_name: Option<String>,
    organization_name: Option<String>,
    credential: Option<String>,
    status: Option<String>,
    enumeration_date: Option<String>,
    last_updated: Option<String>,
}

#[derive(Deserialize)]
struct RawAddress {
    #[serde(default)]
    address_purpose: String,
    #[serde(default)]
    address_1: String,
    address_2: Option<String>,
    #[serde(default)]
    city: String,
    #[serde(default)]
    state: String,
    #[serde(default)]
    postal_code: String,
    telephone_number: Option<String>,
}

#[derive(Deserialize)]
struct RawTaxonomy {
    #[serde(default)]
    code: String,
    #[serde(default)]
    desc: String,
    #[serde(default)]
    primary: bool,
    state: Option<String>,
    license: Option<String>,
}

fn present(s: Option<String>) -> Option<String> {
    s.map(|s| s.trim().to_string()).filter(|s| !s.is_empty())
}

impl RawRecord {
    fn into_record(self) -> Option<RegistryRecord> {
        // The number is a JSON number in v2.1 answers; accept a string too.
        let npi = match self.number {
            serde_json::Value::Number(n) => n.to_string(),
            serde_json::Value::String(s) => s,
            _ => return None,
        };
        let kind = match self.enumeration_type.as_deref() {
            Some("NPI-2") => EntityKind::Organization,
            _ => EntityKind::Individual,
        };
        let b = self.basic;
        let (first, last, org) = (
            present(b.first_name),
            present(b.last_name),
            present(b.organization_name),
        );
        let name = match kind {
            EntityKind::Organization => org.clone().unwrap_or_default(),
            EntityKind::Individual => {
                let given = [first.as_deref(), present(b.middle_name).as_deref()]
                    .into_iter()
                    .flatten()
                    .collect::<Vec<_>>()
                    .join(" ");
                format!("{}, {given}", last.as_deref().unwrap_or_default())
            }
        };
        let mut addresses: Vec<RegistryAddress> = self
            .addresses
            .into_iter()
            .map(|a| RegistryAddress {
                purpose: a.address_purpose,
                line1: a.address_1.trim().to_string(),
                line2: present(a.address_2),
                city: a.city,
                state: a.state,
                postal_code: a.postal_code,
                phone: present(a.telephone_number),
            })
            .collect();
        addresses.sort_by_key(|a| a.purpose != "LOCATION");
        let mut taxonomies: Vec<RegistryTaxonomy> = self
            .taxonomies
            .into_iter()
            .map(|t| RegistryTaxonomy {
                code: t.code,
                description: t.desc,
                primary: t.primary,
                state: present(t.state),
                license: present(t.license),
            })
            .collect();
        taxonomies.sort_by_key(|t| !t.primary);
        Some(RegistryRecord {
            npi,
            kind,
            name,
            first_name: first,
            last_name: last,
            organization_name: org,
            credential: present(b.credential),
            status: present(b.status),
            enumeration_date: present(b.enumeration_date),
            last_updated: present(b.last_updated),
            addresses,
            taxonomies,
        })
    }
}
