//! The one error type at the Tauri command boundary.

use claimdesk_core::central::CentralError;
use claimdesk_core::settings::SettingsError;
use claimdesk_core::ErrorCode;
use serde::Serialize;

/// What a failed command returns to the UI: a stable `code` to branch on and
/// a `message` to show. The UI never parses the message.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, specta::Type, thiserror::Error)]
#[error("{message}")]
pub struct CommandError {
    /// Stable code; see [`ErrorCode`].
    pub code: ErrorCode,
    /// Human-readable explanation, safe to display (no PHI).
    pub message: String,
}

impl CommandError {
    /// An error with a code and message.
    pub fn new(code: ErrorCode, message: impl Into<String>) -> Self {
        Self {
            code,
            message: message.into(),
        }
    }
}

impl From<CentralError> for CommandError {
    fn from(error: CentralError) -> Self {
        Self::new(error.code(), error.to_string())
    }
}

impl From<&SettingsError> for CommandError {
    fn from(error: &SettingsError) -> Self {
        Self::new(error.code(), error.to_string())
    }
}
