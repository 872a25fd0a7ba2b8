//! Where ClaimDesk keeps its files on each OS.

use std::path::PathBuf;

/// Environment variable that roots every ClaimDesk directory in one place.
/// Tests and the demo use it so they never touch the real user profile.
pub const HOME_ENV: &str = "CLAIMDESK_HOME";

/// The per-user directories the app writes to.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AppDirs {
    /// Settings (`settings.toml`).
    pub config: PathBuf,
    /// Rotating log files.
    pub logs: PathBuf,
    /// Local data such as the encrypted cache.
    pub data: PathBuf,
    /// Where exported documents are saved (the person's downloads).
    pub exports: PathBuf,
}

impl AppDirs {
    /// All directories under one root (what `CLAIMDESK_HOME` selects).
    pub fn under(root: impl Into<PathBuf>) -> Self {
        let root = root.into();
        Self {
            config: root.join("config"),
            logs: root.join("logs"),
            data: root.join("data"),
            exports: root.join("exports"),
        }
    }

    /// The OS conventions, unless `CLAIMDESK_HOME` is set:
    /// Linux `~/.config/claimdesk`, `~/.local/state/claimdesk/logs`, `~/.local/share/claimdesk`;
    /// macOS `~/Library/Application Support/ClaimDesk`, `~/Library/Logs/ClaimDesk`;
    /// Windows `%APPDATA%\ClaimDesk`, `%LOCALAPPDATA%\ClaimDesk\logs`.
    pub fn resolve(var: impl Fn(&str) -> Option<String>) -> Self {
        if let Some(root) = var(HOME_ENV).filter(|v| !v.is_empty()) {
            return Self::under(root);
        }
        let name = if cfg!(target_os = "linux") {
            "claimdesk"
        } else {
            "ClaimDesk"
        };
        let fallback = std::env::temp_dir().join(name);
        let config = dirs::config_dir().map_or_else(|| fallback.clone(), |d| d.join(name));
        let data = dirs::data_local_dir().map_or_else(|| fallback.clone(), |d| d.join(name));
        let logs = if cfg!(target_os = "macos") {
            dirs::home_dir().map(|h| h.join("Library/Logs").join(name))
        } else {
            dirs::state_dir().map(|d| d.join(name).join("logs"))
        }
        .unwrap_or_else(|| data.join("logs"));
        let exports = dirs::download_dir()
            .or_else(dirs::home_dir)
            .unwrap_or_else(|| data.join("exports"));
        Self {
            config,
            logs,
            data,
            exports,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn claimdesk_home_roots_everything() {
        let dirs = AppDirs::resolve(|k| (k == HOME_ENV).then(|| "/tmp/cd-home".to_string()));
        assert_eq!(dirs, AppDirs::under("/tmp/cd-home"));
        assert_eq!(dirs.logs, PathBuf::from("/tmp/cd-home/logs"));
    }

    #[test]
    fn os_dirs_are_distinct() {
        let dirs = AppDirs::resolve(|_| None);
        assert_ne!(dirs.config, dirs.logs);
        assert_ne!(dirs.config, dirs.data);
    }
}
