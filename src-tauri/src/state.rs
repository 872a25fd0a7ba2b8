//! What the app keeps between commands.

use claimdesk_core::central::CentralSession;
use claimdesk_core::paths::AppDirs;
use claimdesk_core::settings::{LoadedSettings, SettingsError};
use claimdesk_local::cache::RebuildReason;
use claimdesk_local::session::LocalSession;
use tokio::sync::Mutex;

/// Managed Tauri state: settings as loaded at start-up and the session, if any.
pub struct AppState {
    /// Settings, or why they could not be loaded (shown on the login screen).
    pub settings: Result<LoadedSettings, SettingsError>,
    /// Where logs and data live.
    pub dirs: AppDirs,
    /// The logged-in central session. Commands clone it out of the lock
    /// before awaiting, so a slow server never blocks other commands.
    pub session: Mutex<Option<CentralSession>>,
    /// The person's encrypted cache and its sync engine, while logged in.
    pub local: Mutex<Option<LocalSession>>,
    /// Why the cache was rebuilt at this login, until the UI has shown it.
    pub cache_notice: Mutex<Option<RebuildReason>>,
    /// Documents opened through `view_document` (checked, view recorded)
    /// this session: the only ones the document scheme serves.
    pub viewable: Mutex<std::collections::HashSet<uuid::Uuid>>,
    /// The signed-in session's inactivity lock.
    pub autolock: std::sync::Mutex<Option<claimdesk_core::autolock::AutoLock>>,
    /// When `run` began, for the start-up figures `ui_ready` logs.
    pub started: std::time::Instant,
}

impl AppState {
    /// State before anyone has logged in.
    pub fn new(
        settings: Result<LoadedSettings, SettingsError>,
        dirs: AppDirs,
        started: std::time::Instant,
    ) -> Self {
        Self {
            started,
            settings,
            dirs,
            session: Mutex::new(None),
            local: Mutex::new(None),
            cache_notice: Mutex::new(None),
            viewable: Mutex::new(Default::default()),
            autolock: std::sync::Mutex::new(None),
        }
    }
}
