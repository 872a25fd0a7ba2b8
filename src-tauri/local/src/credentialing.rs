//! The credentialing specialist's data, from this computer's copy of the
//! reference tables (providers, credentials, verifications): the provider
//! directory searched in memory as they type, and the work lists NCQA's
//! timelines make (credentials expiring within 30/60/90 days, primary-source
//! verifications older than 120 days, recredentialing due, pending items).

use std::collections::HashMap;

use chrono::{DateTime, Duration, NaiveDate, Utc};
use serde::{Deserialize, Serialize};
use uuid::Uuid;

use crate::cache::{Cache, CacheError};
use crate::reference::records;

/// A primary-source verification counts for this long before a
/// credentialing decision (NCQA 2025).
pub const VERIFICATION_VALID_DAYS: i64 = 120;
/// Providers are recredentialed this often (NCQA: 36 months).
pub const RECREDENTIAL_MONTHS: u32 = 36;
/// How far ahead the recredentialing list looks.
pub const RECREDENTIAL_NOTICE_DAYS: i64 = 90;

/// A provider as the directory lists them.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, specta::Type)]
pub struct ProviderRow {
    /// Id.
    pub id: Uuid,
    /// NPI.
    pub npi: String,
    /// `individual` or `organization`.
    pub entity_type: String,
    /// "Last, First" or the organization's name.
    #[serde(default)]
    pub name: String,
    /// Individuals.
    pub first_name: Option<String>,
    /// Individuals.
    pub last_name: Option<String>,
    /// Organizations.
    pub organization_name: Option<String>,
    /// MD, DO, NP, …
    pub credential_suffix: Option<String>,
    /// Taxonomy code.
    pub taxonomy_code: Option<String>,
    /// Specialty in words.
    pub specialty: Option<String>,
    /// `in_network`, `out_of_network` or `pending`.
    pub network_status: String,
    /// `active`, `inactive` or `suspended`.
    pub status: String,
    /// Street.
    pub address_line1: Option<String>,
    /// City.
    pub city: Option<String>,
    /// State.
    pub state: Option<String>,
    /// ZIP.
    pub postal_code: Option<String>,
    /// On an exclusion list: never pay.
    pub excluded: bool,
    /// Which list.
    pub exclusion_source: Option<String>,
    /// Since when.
    pub exclusion_date: Option<NaiveDate>,
    /// When the lists were last checked for this provider.
    pub exclusion_checked_at: Option<DateTime<Utc>>,
    /// When recredentialing is due.
    pub recredential_due: Option<NaiveDate>,
}

/// A credential on file.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, specta::Type)]
pub struct CredentialRow {
    /// Id.
    pub id: Uuid,
    /// Whose.
    pub provider_id: Uuid,
    /// medical_license, board_certification, dea, malpractice_insurance, hospital_privileges.
    pub credential_type: String,
    /// Number.
    pub credential_number: Option<String>,
    /// Issuing authority.
    pub issuing_authority: Option<String>,
    /// State.
    pub state: Option<String>,
    /// Issued.
    pub issue_date: Option<NaiveDate>,
    /// Expires.
    pub expiration_date: Option<NaiveDate>,
    /// verified, pending, expired, revoked.
    pub status: String,
    /// Latest primary source.
    pub verification_source: Option<String>,
    /// Latest verifier.
    pub verified_by: Option<String>,
    /// Latest verification.
    pub verified_at: Option<DateTime<Utc>>,
}

/// One primary-source check.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, specta::Type)]
pub struct VerificationRow {
    /// Id.
    pub id: Uuid,
    /// Of which credential.
    pub credential_id: Uuid,
    /// The primary source.
    pub source: String,
    /// verified, discrepancy, not_found, expired, revoked.
    pub result: String,
    /// Who.
    pub verified_by: String,
    /// When.
    pub verified_at: DateTime<Utc>,
    /// Notes.
    pub notes: Option<String>,
}

/// A credential with its verification history, newest first.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, specta::Type)]
pub struct CredentialHistory {
    /// The credential.
    pub credential: CredentialRow,
    /// Who verified it, when, against what source, with what result.
    pub verifications: Vec<VerificationRow>,
}

/// A provider's profile.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, specta::Type)]
pub struct ProviderProfile {
    /// Identity and address.
    pub provider: ProviderRow,
    /// Credentials by type.
    pub credentials: Vec<CredentialHistory>,
}

/// What the directory is searched by; every field given must match.
#[derive(Debug, Clone, Default, PartialEq, Eq, Deserialize, specta::Type)]
pub struct DirectoryQuery {
    /// Words matched against NPI, name, specialty and taxonomy code.
    pub text: Option<String>,
    /// `in_network`, `out_of_network` or `pending`.
    pub network_status: Option<String>,
    /// Two-letter state.
    pub state: Option<String>,
    /// City (prefix).
    pub city: Option<String>,
}

/// A credential on a work list, with whose it is.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, specta::Type)]
pub struct CredentialItem {
    /// The credential.
    pub credential: CredentialRow,
    /// The provider's name.
    pub provider_name: String,
    /// Their NPI.
    pub npi: String,
}

/// The work lists, each behind a count on the dashboard.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, specta::Type)]
pub struct Dashboard {
    /// Credentials expiring within 30 days (including already expired and not yet marked).
    pub expiring_30: Vec<CredentialItem>,
    /// Expiring in 31–60 days.
    pub expiring_60: Vec<CredentialItem>,
    /// Expiring in 61–90 days.
    pub expiring_90: Vec<CredentialItem>,
    /// Credentials whose latest primary-source verification is older than 120 days, or missing.
    pub stale_verifications: Vec<CredentialItem>,
    /// Providers due for recredentialing within 90 days, or overdue.
    pub recredential_due: Vec<ProviderRow>,
    /// Credentials waiting for verification.
    pub pending: Vec<CredentialItem>,
}

/// The cached directory, decrypted into memory (provider data is not
/// member PHI; it is still only ever kept sealed on disk).
#[derive(Debug, Clone, Default)]
pub struct Directory {
    providers: Vec<ProviderRow>,
    /// Per provider, in the same order: NPI, name, specialty and taxonomy
    /// in lower case, built once so each keystroke only compares.
    search_text: Vec<String>,
    /// Provider id to its place in `providers`.
    by_id: HashMap<Uuid, usize>,
    credentials: Vec<CredentialRow>,
    verifications: Vec<VerificationRow>,
}

fn typed<T: serde::de::DeserializeOwned>(rows: Vec<(Uuid, serde_json::Value)>) -> Vec<T> {
    // A row the app cannot read (a newer central) is left out, not fatal.
    rows.into_iter()
        .filter_map(|(_, v)| serde_json::from_value(v).ok())
        .collect()
}

impl Directory {
    /// Reads the cached providers, credentials and verifications.
    pub async fn load(cache: &Cache) -> Result<Self, CacheError> {
        let mut providers: Vec<ProviderRow> = typed(records(cache, "provider").await?);
        for p in &mut providers {
            p.name = match (&p.organization_name, &p.last_name, &p.first_name) {
                (Some(org), _, _) if p.entity_type == "organization" => org.clone(),
                (_, Some(last), Some(first)) => format!("{last}, {first}"),
                (org, last, _) => last.clone().or(org.clone()).unwrap_or_default(),
            };
        }
        providers.sort_by_cached_key(|p| p.name.to_lowercase());
        let search_text = providers
            .iter()
            .map(|p| {
                format!(
                    "{} {} {} {}",
                    p.npi,
                    p.name,
                    p.specialty.as_deref().unwrap_or_default(),
                    p.taxonomy_code.as_deref().unwrap_or_default()
                )
                .to_lowercase()
            })
            .collect();
        let by_id = providers
            .iter()
            .enumerate()
            .map(|(i, p)| (p.id, i))
            .collect();
        Ok(Self {
            providers,
            search_text,
            by_id,
            credentials: typed(records(cache, "provider_credential").await?),
            verifications: typed(records(cache, "credential_verification").await?),
        })
    }

    /// Providers in the directory.
    pub fn len(&self) -> usize {
        self.providers.len()
    }

    /// Whether the directory is empty (nothing synced yet, or no access).
    pub fn is_empty(&self) -> bool {
        self.providers.is_empty()
    }

    /// Providers matching `query`, by name, at most `limit`.
    pub fn search(&self, query: &DirectoryQuery, limit: usize) -> Vec<&ProviderRow> {
        let words: Vec<String> = query
            .text
            .as_deref()
            .unwrap_or_default()
            .to_lowercase()
            .split_whitespace()
            .map(str::to_string)
            .collect();
        let eq = |want: &Option<String>, have: Option<&str>| {
            want.as_deref()
                .map(str::trim)
                .filter(|w| !w.is_empty())
                .is_none_or(|w| have.is_some_and(|h| h.eq_ignore_ascii_case(w)))
        };
        self.providers
            .iter()
            .zip(&self.search_text)
            .filter(|(p, hay)| {
                words.iter().all(|w| hay.contains(w.as_str()))
                    && eq(&query.network_status, Some(&p.network_status))
                    && eq(&query.state, p.state.as_deref())
                    && query
                        .city
                        .as_deref()
                        .map(str::trim)
                        .filter(|c| !c.is_empty())
                        .is_none_or(|c| {
                            p.city
                                .as_deref()
                                .is_some_and(|h| h.to_lowercase().starts_with(&c.to_lowercase()))
                        })
            })
            .map(|(p, _)| p)
            .take(limit)
            .collect()
    }

    /// One provider, with their credentials (by type) and each credential's
    /// verification history (newest first).
    pub fn profile(&self, id: Uuid) -> Option<ProviderProfile> {
        let provider = self.providers[*self.by_id.get(&id)?].clone();
        let mut credentials: Vec<CredentialHistory> = self
            .credentials
            .iter()
            .filter(|c| c.provider_id == id)
            .map(|c| {
                let mut history: Vec<VerificationRow> = self
                    .verifications
                    .iter()
                    .filter(|v| v.credential_id == c.id)
                    .cloned()
                    .collect();
                history.sort_by_key(|v| std::cmp::Reverse(v.verified_at));
                CredentialHistory {
                    credential: c.clone(),
                    verifications: history,
                }
            })
            .collect();
        credentials.sort_by(|a, b| {
            a.credential
                .credential_type
                .cmp(&b.credential.credential_type)
        });
        Some(ProviderProfile {
            provider,
            credentials,
        })
    }

    /// The work lists as of `today`.
    pub fn dashboard(&self, today: NaiveDate, now: DateTime<Utc>) -> Dashboard {
        let provider = |id: Uuid| self.by_id.get(&id).map(|&i| &self.providers[i]);
        let item = |c: &CredentialRow| {
            let p = provider(c.provider_id);
            CredentialItem {
                credential: c.clone(),
                provider_name: p.map(|p| p.name.clone()).unwrap_or_default(),
                npi: p.map(|p| p.npi.clone()).unwrap_or_default(),
            }
        };
        let live = |c: &&CredentialRow| c.status != "revoked";
        let expiring = |from: i64, to: i64| {
            let mut list: Vec<CredentialItem> = self
                .credentials
                .iter()
                .filter(live)
                .filter(|c| c.status != "expired")
                .filter(|c| {
                    c.expiration_date.is_some_and(|d| {
                        let days = (d - today).num_days();
                        days <= to && (days > from || from < 0)
                    })
                })
                .map(item)
                .collect();
            list.sort_by_key(|i| i.credential.expiration_date);
            list
        };
        let stale_before = now - Duration::days(VERIFICATION_VALID_DAYS);
        let mut stale: Vec<CredentialItem> = self
            .credentials
            .iter()
            .filter(live)
            .filter(|c| c.verified_at.is_none_or(|at| at < stale_before))
            .map(item)
            .collect();
        stale.sort_by_key(|i| i.credential.verified_at);
        let horizon = today + Duration::days(RECREDENTIAL_NOTICE_DAYS);
        let mut due: Vec<ProviderRow> = self
            .providers
            .iter()
            .filter(|p| p.status == "active" && p.recredential_due.is_none_or(|d| d <= horizon))
            .cloned()
            .collect();
        due.sort_by_key(|p| p.recredential_due);
        Dashboard {
            expiring_30: expiring(-1, 30),
            expiring_60: expiring(30, 60),
            expiring_90: expiring(60, 90),
            stale_verifications: stale,
            recredential_due: due,
            pending: self
                .credentials
                .iter()
                .filter(|c| c.status == "pending")
                .map(item)
                .collect(),
        }
    }
}
