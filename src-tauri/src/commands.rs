//! Tauri commands: parse input, call the core, map errors. Nothing else.

use std::sync::Arc;

use chrono::Utc;
use claimdesk_core::central::{CentralError, CentralSession, ConnectionStatus, Credentials};
use claimdesk_core::settings::LoadedSettings;
use claimdesk_core::{ErrorCode, Secret};
use claimdesk_local::cache::{CacheOwner, Opened, RebuildReason};
use claimdesk_local::engine::SyncStatus;
use claimdesk_local::session::LocalSession;
use serde::Serialize;
use tauri::State;

use crate::error::CommandError;
use crate::state::AppState;

/// What the login screen needs before anyone logs in.
#[derive(Debug, Clone, Serialize, specta::Type)]
pub struct AppInfo {
    /// The app's version.
    pub version: String,
    /// The central settings in effect, when they loaded.
    pub settings: Option<LoadedSettings>,
    /// Why the settings did not load, when they did not.
    pub settings_error: Option<CommandError>,
    /// Where the log files are, for support calls.
    pub log_dir: String,
}

/// Version, settings and log location for the login screen.
#[tauri::command]
#[specta::specta]
pub fn app_info(state: State<'_, AppState>) -> AppInfo {
    let (settings, settings_error) = match &state.settings {
        Ok(loaded) => (Some(loaded.clone()), None),
        Err(error) => (None, Some(error.into())),
    };
    AppInfo {
        version: env!("CARGO_PKG_VERSION").to_string(),
        settings,
        settings_error,
        log_dir: state.dirs.logs.display().to_string(),
    }
}

/// Logs in to the central database as the person's own role.
#[tauri::command]
#[specta::specta]
pub async fn login(
    state: State<'_, AppState>,
    username: String,
    password: Secret<String>,
) -> Result<ConnectionStatus, CommandError> {
    let settings = &state.settings.as_ref()?.central;
    let username = username.trim().to_string();
    if username.is_empty() || password.expose().is_empty() {
        return Err(CommandError::new(
            ErrorCode::InvalidInput,
            "Enter your user name and password.",
        ));
    }
    let session = CentralSession::connect(settings, &Credentials { username, password }).await?;
    let status = session.status(Utc::now()).await?;
    // The local side comes up with the login, or the login fails: without
    // the keychain there is no cache, and no silent downgrade.
    let owner = CacheOwner {
        login: session.username().to_string(),
        server: format!("{}:{}/{}", settings.host, settings.port, settings.database),
    };
    let mapping = settings.clone();
    let started = LocalSession::start(
        &state.dirs.data,
        owner,
        session.pool().clone(),
        Arc::new(move |e| CentralError::from_sqlx(e, &mapping).code()),
    )
    .await;
    let (local, opened) = match started {
        Ok(started) => started,
        Err(error) => {
            session.close().await;
            return Err(error.into());
        }
    };
    if let Opened::Rebuilt(reason) = opened {
        tracing::warn!(?reason, "local cache rebuilt at login");
        *state.cache_notice.lock().await = Some(reason);
    }
    if let Some(previous) = state.local.lock().await.replace(local) {
        previous.end(false).await?;
    }
    if let Some(previous) = state.session.lock().await.replace(session) {
        previous.close().await;
    }
    Ok(status)
}

/// The local side's state for the status bar: sync, outbox, and why the
/// cache was rebuilt at this login (reported once).
#[derive(Debug, Clone, Serialize, specta::Type)]
pub struct LocalStatus {
    /// Sync progress, connectivity and outbox depth.
    pub sync: SyncStatus,
    /// Set once after a login that had to rebuild the cache.
    pub cache_rebuilt: Option<RebuildReason>,
}

/// Sync and outbox state; the UI polls it while logged in.
#[tauri::command]
#[specta::specta]
pub async fn local_status(state: State<'_, AppState>) -> Result<LocalStatus, CommandError> {
    let sync = state
        .local
        .lock()
        .await
        .as_ref()
        .map(|l| l.status().borrow().clone())
        .ok_or_else(|| CommandError::new(ErrorCode::NotLoggedIn, "You are not logged in."))?;
    let cache_rebuilt = state.cache_notice.lock().await.take();
    Ok(LocalStatus {
        sync,
        cache_rebuilt,
    })
}

/// The live connection status; the UI polls it while logged in.
#[tauri::command]
#[specta::specta]
pub async fn connection_status(
    state: State<'_, AppState>,
) -> Result<ConnectionStatus, CommandError> {
    let session = state
        .session
        .lock()
        .await
        .clone()
        .ok_or_else(|| CommandError::new(ErrorCode::NotLoggedIn, "You are not logged in."))?;
    Ok(session.status(Utc::now()).await?)
}

/// Ends the session and closes its connections. With `wipe`, this
/// computer's encrypted copy and its key are removed too.
#[tauri::command]
#[specta::specta]
pub async fn logout(state: State<'_, AppState>, wipe: bool) -> Result<(), CommandError> {
    let local = state.local.lock().await.take();
    if let Some(local) = local {
        local.end(wipe).await?;
    }
    let session = state.session.lock().await.take();
    if let Some(session) = session {
        tracing::info!(user = %session.username(), "logged out");
        session.close().await;
    }
    Ok(())
}
