//! Credentialing commands: the directory and work lists from the cache,
//! verifications and LEIE imports on central, NPI Registry lookups. Thin:
//! the work is in `claimdesk_local::credentialing` and `claimdesk_core`.

use std::sync::Arc;
use std::time::Duration;

use chrono::Utc;
use claimdesk_core::leie::{self, ImportProgress, ImportReport};
use claimdesk_core::nppes::{Registry, RegistryQuery, RegistryRecord};
use claimdesk_core::ErrorCode;
use claimdesk_local::cache::Cache;
use claimdesk_local::credentialing::{
    self, CredentialRow, Dashboard, DirectoryQuery, LiveDirectory, ProviderProfile, ProviderRow,
    RegistryComparison, VerificationInput, VerificationRow,
};
use serde::Serialize;
use tauri::ipc::Channel;
use tauri::State;
use uuid::Uuid;

use crate::commands::{desk, not_logged_in};
use crate::error::CommandError;
use crate::state::AppState;

/// The directory, the cache it reads and when its records last changed.
async fn directory(
    state: &State<'_, AppState>,
) -> Result<(Arc<LiveDirectory>, Cache, Option<chrono::DateTime<Utc>>), CommandError> {
    crate::autolock::ensure_unlocked(state).await?;
    let local = state.local.lock().await;
    let local = local.as_ref().ok_or_else(not_logged_in)?;
    Ok((
        local.directory(),
        local.cache().clone(),
        local.status().borrow().reference_changed_at,
    ))
}

/// One page of directory matches.
#[derive(Debug, Clone, Serialize, specta::Type)]
pub struct DirectoryMatches {
    /// Providers in the directory in all.
    pub total: u32,
    /// Matches, by name, at most the limit asked for.
    pub providers: Vec<ProviderRow>,
    /// More matched than were returned.
    pub more: bool,
    /// The search text is typed as an NPI that cannot be one, and why.
    pub npi_problem: Option<String>,
}

/// Searches the provider directory on this computer (as the person types).
#[tauri::command]
#[specta::specta]
pub async fn search_providers(
    state: State<'_, AppState>,
    query: DirectoryQuery,
    limit: u32,
) -> Result<DirectoryMatches, CommandError> {
    let (live, cache, changed_at) = directory(&state).await?;
    let limit = limit.clamp(1, 500) as usize;
    let npi_problem = query.npi_problem();
    Ok(live
        .with(&cache, changed_at, |d| {
            let mut found: Vec<ProviderRow> =
                d.search(&query, limit + 1).into_iter().cloned().collect();
            let more = found.len() > limit;
            found.truncate(limit);
            DirectoryMatches {
                total: u32::try_from(d.len()).unwrap_or(u32::MAX),
                providers: found,
                more,
                npi_problem,
            }
        })
        .await?)
}

/// A provider's profile: identity, credentials with their verification
/// history, contracts with their fee schedules.
#[tauri::command]
#[specta::specta]
pub async fn provider_profile(
    state: State<'_, AppState>,
    id: Uuid,
) -> Result<ProviderProfile, CommandError> {
    let (live, cache, changed_at) = directory(&state).await?;
    live.with(&cache, changed_at, |d| d.profile(id))
        .await?
        .ok_or_else(|| {
            CommandError::new(
                ErrorCode::NotFound,
                "This provider is not in the directory on this computer yet.",
            )
        })
}

/// The work lists behind the credentialing dashboard, as of today.
#[tauri::command]
#[specta::specta]
pub async fn credentialing_dashboard(
    state: State<'_, AppState>,
) -> Result<Dashboard, CommandError> {
    let (live, cache, changed_at) = directory(&state).await?;
    let now = Utc::now();
    Ok(live
        .with(&cache, changed_at, |d| d.dashboard(now.date_naive(), now))
        .await?)
}

/// A verification as central recorded it.
#[derive(Debug, Clone, Serialize, specta::Type)]
pub struct RecordedVerification {
    /// The credential, with its new status and latest verification.
    pub credential: CredentialRow,
    /// The verification: who and when are central's.
    pub verification: VerificationRow,
}

/// Records a primary-source verification of a credential on central.
#[tauri::command]
#[specta::specta]
pub async fn verify_credential(
    state: State<'_, AppState>,
    input: VerificationInput,
) -> Result<RecordedVerification, CommandError> {
    let desk = desk(&state).await?;
    let (credential, verification) = credentialing::verify(desk.central.pool(), &input)
        .await
        .map_err(|e| match e {
            credentialing::VerifyError::Problem(p) => CommandError::new(ErrorCode::InvalidInput, p),
            credentialing::VerifyError::Central(e) => desk.central_error(e),
        })?;
    let (live, _, _) = directory(&state).await?;
    live.record(credential.clone(), verification.clone()).await;
    crate::commands::kick(&state).await;
    Ok(RecordedVerification {
        credential,
        verification,
    })
}

/// Looks the provider up in the NPPES NPI Registry and compares its record
/// with ours.
#[tauri::command]
#[specta::specta]
pub async fn compare_with_registry(
    state: State<'_, AppState>,
    provider_id: Uuid,
) -> Result<RegistryComparison, CommandError> {
    let registry = registry(&state)?;
    let (live, cache, changed_at) = directory(&state).await?;
    let profile = live
        .with(&cache, changed_at, |d| d.profile(provider_id))
        .await?
        .ok_or_else(|| CommandError::new(ErrorCode::NotFound, "No such provider here."))?;
    Ok(credentialing::compare_with_registry(&registry, &profile, Utc::now()).await?)
}

fn registry(state: &State<'_, AppState>) -> Result<Registry, CommandError> {
    let settings = &state.settings.as_ref()?.registries;
    Ok(Registry::new(
        &settings.nppes_base_url,
        Duration::from_secs(settings.timeout_secs.into()),
    )?)
}

/// Searches the NPPES NPI Registry by name, organization, taxonomy or
/// place (when our NPI is not found there, say).
#[tauri::command]
#[specta::specta]
pub async fn search_registry(
    state: State<'_, AppState>,
    query: RegistryQuery,
) -> Result<Vec<RegistryRecord>, CommandError> {
    crate::autolock::ensure_unlocked(&state).await?;
    Ok(registry(&state)?.search(&query).await?)
}

/// Imports an OIG LEIE file (base64) on central: the list kept and
/// diffed, every provider screened, the ones listed flagged and their
/// open claims pended. `progress` hears each stage.
#[tauri::command]
#[specta::specta]
pub async fn import_leie(
    state: State<'_, AppState>,
    content: String,
    progress: Channel<ImportProgress>,
) -> Result<ImportReport, CommandError> {
    let desk = desk(&state).await?;
    let bytes = crate::commands::decode_file(&content)?;
    let mut conn = desk.connection().await?;
    let report = leie::import(&mut conn, &bytes, Uuid::now_v7(), |p| {
        // A closed window is no reason to stop an import.
        let _ = progress.send(p);
    })
    .await
    .map_err(|e| match e {
        leie::ImportError::File(problem) => {
            CommandError::new(ErrorCode::InvalidInput, problem.to_string())
        }
        leie::ImportError::Central(e) => desk.central_error(e),
    })?;
    tracing::info!(
        entries = report.entries,
        new = report.new_exclusions,
        flagged = report.flagged.len(),
        "LEIE imported"
    );
    crate::commands::kick(&state).await;
    Ok(report)
}
