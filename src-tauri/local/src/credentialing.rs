//! The credentialing specialist's data, from this computer's copy of the
//! reference tables (providers, credentials, verifications): the provider
//! directory searched in memory as they type, and the work lists NCQA's
//! timelines make (credentials expiring within 30/60/90 days, primary-source
//! verifications older than 120 days, recredentialing due, pending items).

use std::collections::HashMap;

use chrono::{DateTime, Duration, NaiveDate, Utc};
use claimdesk_core::credentialing::{self, Agreement, FieldComparison, OurLicense, OurProvider};
use claimdesk_core::nppes::{EntityKind, NppesError, Registry, RegistryRecord};
use rust_decimal::Decimal;
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

/// A contract with the provider.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, specta::Type)]
pub struct ContractRow {
    /// Id.
    pub id: Uuid,
    /// Its number, e.g. `CON-00017`.
    pub contract_number: String,
    /// With whom.
    pub provider_id: Uuid,
    /// individual, group, facility.
    pub contract_type: String,
    /// fee_for_service, capitation, bundled, value_based.
    pub reimbursement_method: String,
    /// In force from.
    pub effective_date: NaiveDate,
    /// Until, when it ends.
    pub termination_date: Option<NaiveDate>,
    /// draft, active, expired, terminated.
    pub status: String,
}

/// One rate in a contract's fee schedule.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, specta::Type)]
pub struct FeeRow {
    /// Of which contract.
    pub contract_id: Uuid,
    /// CPT/HCPCS code.
    pub cpt_code: String,
    /// Modifier; empty for the base rate.
    pub modifier: String,
    /// Allowed amount.
    #[serde(deserialize_with = "exact_money")]
    #[specta(type = String)]
    pub allowed_amount: Decimal,
    /// In force from.
    pub effective_date: NaiveDate,
    /// Until, when it ends.
    pub termination_date: Option<NaiveDate>,
}

/// Money from a cached record: text (exact), or a JSON number from a copy
/// synced before amounts went as text, read back from its shortest decimal
/// form (exact for `numeric(12,2)`, whose 12 digits fit in an f64).
fn exact_money<'de, D: serde::Deserializer<'de>>(d: D) -> Result<Decimal, D::Error> {
    use serde::de::Error as _;
    let text = match serde_json::Value::deserialize(d)? {
        serde_json::Value::String(s) => s,
        serde_json::Value::Number(n) => n.to_string(),
        other => return Err(D::Error::custom(format!("not an amount: {other}"))),
    };
    text.parse().map_err(D::Error::custom)
}

/// A contract and its fee schedule, by code.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, specta::Type)]
pub struct ContractTerms {
    /// The contract.
    pub contract: ContractRow,
    /// Its rates, by code, modifier and date.
    pub fees: Vec<FeeRow>,
}

/// A provider's profile.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, specta::Type)]
pub struct ProviderProfile {
    /// Identity and address.
    pub provider: ProviderRow,
    /// Credentials by type.
    pub credentials: Vec<CredentialHistory>,
    /// Contracts, newest first, each with its fee schedule.
    pub contracts: Vec<ContractTerms>,
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

impl DirectoryQuery {
    /// When the search text is typed as an NPI (a run of digits) that
    /// cannot be one, why: a mistyped NPI would otherwise just find nothing.
    pub fn npi_problem(&self) -> Option<String> {
        let text = self.text.as_deref()?.trim();
        let digits = text.len() >= 9 && text.bytes().all(|b| b.is_ascii_digit());
        if !digits {
            return None;
        }
        claimdesk_core::domain::npi::check(text)
            .err()
            .map(|p| format!("{text}: {p}"))
    }
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
    contracts: Vec<ContractRow>,
    fees: Vec<FeeRow>,
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
            contracts: typed(records(cache, "contract").await?),
            fees: typed(records(cache, "fee_schedule").await?),
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
        let mut contracts: Vec<ContractTerms> = self
            .contracts
            .iter()
            .filter(|c| c.provider_id == id)
            .map(|c| {
                let mut fees: Vec<FeeRow> = self
                    .fees
                    .iter()
                    .filter(|f| f.contract_id == c.id)
                    .cloned()
                    .collect();
                fees.sort_by(|a, b| {
                    (&a.cpt_code, &a.modifier, a.effective_date).cmp(&(
                        &b.cpt_code,
                        &b.modifier,
                        b.effective_date,
                    ))
                });
                ContractTerms {
                    contract: c.clone(),
                    fees,
                }
            })
            .collect();
        contracts.sort_by_key(|c| std::cmp::Reverse(c.contract.effective_date));
        Some(ProviderProfile {
            provider,
            credentials,
            contracts,
        })
    }

    /// Applies verifications recorded here that the cache does not have
    /// yet, and forgets those it has. A patch goes once the cache has both
    /// rows: each table follows the feed on its own cursor, so one can
    /// arrive a pass before the other.
    fn settle(&mut self, recorded: &mut Vec<(CredentialRow, VerificationRow)>) {
        recorded.retain(|(c, v)| {
            let has_verification = self.verifications.iter().any(|h| h.id == v.id);
            let has_credential = self
                .credentials
                .iter()
                .any(|h| h.id == c.id && h.verified_at >= c.verified_at);
            !(has_verification && has_credential)
        });
        for (credential, verification) in recorded.iter() {
            self.record_verification(credential.clone(), verification.clone());
        }
    }

    /// Takes in a verification central has just recorded, with the
    /// credential as central now has it, so the screens show it before the
    /// next sync brings the same rows into the cache.
    pub fn record_verification(
        &mut self,
        credential: CredentialRow,
        verification: VerificationRow,
    ) {
        match self.credentials.iter_mut().find(|c| c.id == credential.id) {
            // Never over a newer state the cache already has.
            Some(c) if c.verified_at > credential.verified_at => {}
            Some(c) => *c = credential,
            None => self.credentials.push(credential),
        }
        if !self.verifications.iter().any(|v| v.id == verification.id) {
            self.verifications.push(verification);
        }
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

/// What a primary source said about a credential.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, specta::Type)]
#[serde(rename_all = "snake_case")]
pub enum VerificationResult {
    /// The source confirms it, in force.
    Verified,
    /// The source disagrees with our record (number, dates, name, scope).
    Discrepancy,
    /// The source has no such credential.
    NotFound,
    /// The source says it has lapsed.
    Expired,
    /// The source says it was revoked or surrendered.
    Revoked,
}

impl VerificationResult {
    /// Central's word for it.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Verified => "verified",
            Self::Discrepancy => "discrepancy",
            Self::NotFound => "not_found",
            Self::Expired => "expired",
            Self::Revoked => "revoked",
        }
    }
}

/// A primary-source verification as the specialist records it. Who and
/// when are not here: central takes them from the session and its clock.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize, specta::Type)]
pub struct VerificationInput {
    /// The credential checked.
    pub credential_id: Uuid,
    /// The primary source (e.g. "Oklahoma State Board of Medical Licensure").
    pub source: String,
    /// What it said.
    pub result: VerificationResult,
    /// What was seen; required unless the source simply confirmed it.
    pub notes: Option<String>,
}

/// Longest primary-source name kept.
pub const SOURCE_MAX: usize = 200;
/// Longest note kept.
pub const NOTES_MAX: usize = 4_000;

/// Why a verification was not recorded.
#[derive(Debug, thiserror::Error)]
pub enum VerifyError {
    /// The input is incomplete; the words say what to fix.
    #[error("{0}")]
    Problem(&'static str),
    /// Central refused or failed (role, unknown credential, connection).
    #[error(transparent)]
    Central(#[from] sqlx::Error),
}

impl VerificationInput {
    /// The input's first problem, if any.
    pub fn problem(&self) -> Option<&'static str> {
        let source = self.source.trim();
        let notes = self.notes.as_deref().map(str::trim).unwrap_or_default();
        if source.is_empty() {
            Some("Name the primary source you checked.")
        } else if source.chars().count() > SOURCE_MAX {
            Some("The source's name is too long (200 characters at most).")
        } else if notes.chars().count() > NOTES_MAX {
            Some("The notes are too long (4,000 characters at most).")
        } else if self.result != VerificationResult::Verified && notes.is_empty() {
            Some("Say in the notes what the source showed: any result other than verified needs one.")
        } else {
            None
        }
    }
}

/// Records a primary-source verification on central (`credential_verify`:
/// the verifier is the session's login, the time central's clock; the row
/// changes are audited there) and returns the credential and the new
/// verification as central now has them.
pub async fn verify(
    central: &sqlx::PgPool,
    input: &VerificationInput,
) -> Result<(CredentialRow, VerificationRow), VerifyError> {
    if let Some(problem) = input.problem() {
        return Err(VerifyError::Problem(problem));
    }
    let notes = input
        .notes
        .as_deref()
        .map(str::trim)
        .filter(|n| !n.is_empty());
    let mut tx = central.begin().await?;
    let id: Uuid = sqlx::query_scalar("SELECT claimdesk.credential_verify($1, $2, $3, $4)")
        .bind(input.credential_id)
        .bind(input.source.trim())
        .bind(input.result.as_str())
        .bind(notes)
        .fetch_one(&mut *tx)
        .await?;
    let (credential, verification): (serde_json::Value, serde_json::Value) = sqlx::query_as(
        "SELECT to_jsonb(c), to_jsonb(v) FROM claimdesk.credential_verification v
         JOIN claimdesk.provider_credential c ON c.id = v.credential_id WHERE v.id = $1",
    )
    .bind(id)
    .fetch_one(&mut *tx)
    .await?;
    tx.commit().await?;
    let decode = |e: serde_json::Error| sqlx::Error::Decode(Box::new(e));
    Ok((
        serde_json::from_value(credential).map_err(decode)?,
        serde_json::from_value(verification).map_err(decode)?,
    ))
}

/// The directory as the screens use it: loaded from the cache when the
/// reference records change and searched in memory, with verifications recorded here
/// shown at once (and kept until a sync brings them into the cache).
#[derive(Debug, Default)]
pub struct LiveDirectory {
    inner: tokio::sync::Mutex<LiveState>,
}

#[derive(Debug, Default)]
struct LiveState {
    loaded: Option<(Option<DateTime<Utc>>, Directory)>,
    recorded: Vec<(CredentialRow, VerificationRow)>,
}

impl LiveDirectory {
    /// Runs `f` on the directory as of the reference records that changed
    /// at `changed_at` (the engine's `reference_changed_at`), reading the
    /// cache again only when they changed since it was read.
    pub async fn with<R>(
        &self,
        cache: &Cache,
        changed_at: Option<DateTime<Utc>>,
        f: impl FnOnce(&Directory) -> R,
    ) -> Result<R, CacheError> {
        let mut state = self.inner.lock().await;
        let LiveState { loaded, recorded } = &mut *state;
        if loaded.as_ref().is_none_or(|(at, _)| *at != changed_at) {
            let mut directory = Directory::load(cache).await?;
            directory.settle(recorded);
            *loaded = Some((changed_at, directory));
        }
        Ok(f(&loaded.as_ref().expect("loaded above").1))
    }

    /// Drops the directory from memory (the session locked); the next
    /// use reads it from the cache again.
    pub async fn forget(&self) {
        self.inner.lock().await.loaded = None;
    }

    /// Shows a verification central has just recorded.
    pub async fn record(&self, credential: CredentialRow, verification: VerificationRow) {
        let mut state = self.inner.lock().await;
        if let Some((_, directory)) = &mut state.loaded {
            directory.record_verification(credential.clone(), verification.clone());
        }
        state.recorded.push((credential, verification));
    }
}

impl ProviderProfile {
    /// Our record in the shape the registry comparison takes: identity,
    /// practice address and the medical licenses in force or pending.
    pub fn ours(&self) -> OurProvider {
        let p = &self.provider;
        OurProvider {
            npi: p.npi.clone(),
            kind: if p.entity_type == "organization" {
                EntityKind::Organization
            } else {
                EntityKind::Individual
            },
            first_name: p.first_name.clone(),
            last_name: p.last_name.clone(),
            organization_name: p.organization_name.clone(),
            taxonomy_code: p.taxonomy_code.clone(),
            specialty: p.specialty.clone(),
            address_line1: p.address_line1.clone(),
            city: p.city.clone(),
            state: p.state.clone(),
            postal_code: p.postal_code.clone(),
            licenses: self
                .credentials
                .iter()
                .map(|h| &h.credential)
                .filter(|c| c.credential_type == "medical_license" && c.status != "revoked")
                .filter_map(|c| {
                    Some(OurLicense {
                        number: c.credential_number.clone()?,
                        state: c.state.clone()?,
                    })
                })
                .collect(),
        }
    }
}

/// A provider beside their NPI Registry record.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, specta::Type)]
pub struct RegistryComparison {
    /// The NPI asked about.
    pub npi: String,
    /// The registry's record; none when it has no provider with that NPI.
    pub record: Option<RegistryRecord>,
    /// Field by field; empty when there is no record.
    pub rows: Vec<FieldComparison>,
    /// Rows that differ or that only one side has.
    pub mismatches: u32,
    /// When the registry answered (the caller's clock).
    pub checked_at: DateTime<Utc>,
}

/// Asks the NPI Registry for the provider's NPI and compares its record
/// with ours.
pub async fn compare_with_registry(
    registry: &Registry,
    profile: &ProviderProfile,
    now: DateTime<Utc>,
) -> Result<RegistryComparison, NppesError> {
    let ours = profile.ours();
    let record = registry.by_npi(&ours.npi).await?;
    let rows = record
        .as_ref()
        .map(|r| credentialing::compare(&ours, r))
        .unwrap_or_default();
    let mismatches = rows
        .iter()
        .filter(|r| r.agreement != Agreement::Same)
        .count();
    Ok(RegistryComparison {
        npi: ours.npi,
        record,
        rows,
        mismatches: u32::try_from(mismatches).unwrap_or(u32::MAX),
        checked_at: now,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_recorded_verification_stays_until_the_cache_has_both_rows() {
        let at = |s: &str| DateTime::parse_from_rfc3339(s).unwrap().to_utc();
        let credential = |status: &str, verified_at: Option<DateTime<Utc>>| CredentialRow {
            id: Uuid::from_u128(1),
            provider_id: Uuid::from_u128(2),
            credential_type: "medical_license".into(),
            credential_number: None,
            issuing_authority: None,
            state: None,
            issue_date: None,
            expiration_date: None,
            status: status.into(),
            verification_source: None,
            verified_by: None,
            verified_at,
        };
        let verification = VerificationRow {
            id: Uuid::from_u128(3),
            credential_id: Uuid::from_u128(1),
            source: "State board".into(),
            result: "verified".into(),
            verified_by: "cred".into(),
            verified_at: at("2026-12-02T10:00:00Z"),
            notes: None,
        };
        let now = credential("verified", Some(at("2026-12-02T10:00:00Z")));
        let mut recorded = vec![(now.clone(), verification.clone())];
        // The verification arrived, the credential not yet: still patched.
        let mut lagging = Directory {
            credentials: vec![credential("pending", Some(at("2026-01-01T00:00:00Z")))],
            verifications: vec![verification.clone()],
            ..Default::default()
        };
        lagging.settle(&mut recorded);
        assert_eq!(recorded.len(), 1);
        assert_eq!(lagging.credentials[0].status, "verified");
        assert_eq!(lagging.verifications.len(), 1);
        // Both arrived: the patch is dropped.
        let mut caught_up = Directory {
            credentials: vec![now.clone()],
            verifications: vec![verification.clone()],
            ..Default::default()
        };
        caught_up.settle(&mut recorded);
        assert!(recorded.is_empty());
        // A newer state in the cache is never overwritten by an older patch.
        let mut newer = Directory {
            credentials: vec![credential("expired", Some(at("2026-12-03T00:00:00Z")))],
            ..Default::default()
        };
        newer.record_verification(now, verification);
        assert_eq!(newer.credentials[0].status, "expired");
    }

    #[test]
    fn an_npi_typed_into_the_search_is_checked() {
        let q = |t: &str| DirectoryQuery {
            text: Some(t.into()),
            ..Default::default()
        };
        assert_eq!(q("1720377294").npi_problem(), None);
        assert!(q(" 1720377295 ")
            .npi_problem()
            .is_some_and(|p| p.starts_with("1720377295:") && p.contains("check digit")));
        assert!(q("17203772941")
            .npi_problem()
            .is_some_and(|p| p.contains("10 digits")));
        // Words, names and short numbers are searches, not NPIs.
        assert_eq!(q("hiza").npi_problem(), None);
        assert_eq!(q("1720").npi_problem(), None);
        assert_eq!(q("").npi_problem(), None);
    }

    #[test]
    fn a_rate_reads_exactly_from_text_or_an_older_copys_number() {
        let row = |amount: serde_json::Value| -> FeeRow {
            serde_json::from_value(serde_json::json!({
                "contract_id": Uuid::nil(), "cpt_code": "99213", "modifier": "",
                "allowed_amount": amount, "effective_date": "2019-01-01", "termination_date": null,
            }))
            .unwrap()
        };
        let expected: Decimal = "9876543210.99".parse().unwrap();
        assert_eq!(row("9876543210.99".into()).allowed_amount, expected);
        assert_eq!(
            row(serde_json::json!(9876543210.99)).allowed_amount,
            expected
        );
        assert_eq!(
            row(serde_json::json!(0.1)).allowed_amount,
            "0.1".parse::<Decimal>().unwrap()
        );
        assert!(serde_json::from_value::<FeeRow>(serde_json::json!({
            "contract_id": Uuid::nil(), "cpt_code": "99213", "modifier": "",
            "allowed_amount": true, "effective_date": "2019-01-01", "termination_date": null,
        }))
        .is_err());
    }
}
