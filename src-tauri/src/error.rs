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

impl From<claimdesk_local::detail::OpenError> for CommandError {
    fn from(error: claimdesk_local::detail::OpenError) -> Self {
        use claimdesk_local::detail::OpenError;
        match error {
            OpenError::NotFound => Self::new(
                ErrorCode::NotFound,
                "This claim does not exist or is not visible to you.",
            ),
            OpenError::NotStored => Self::new(
                ErrorCode::ServerUnreachable,
                "The central server cannot be reached and this claim is not stored on this \
                 computer. It opens once the connection is back.",
            ),
            OpenError::Central(ErrorCode::PermissionDenied) => Self::new(
                ErrorCode::PermissionDenied,
                "Your role does not allow opening this claim.",
            ),
            OpenError::Central(code) => Self::new(
                code,
                "The central server refused to open this claim. Try again; details are in the log.",
            ),
            OpenError::Cache(e) => e.into(),
        }
    }
}

impl From<claimdesk_local::desk::DecideError> for CommandError {
    fn from(error: claimdesk_local::desk::DecideError) -> Self {
        use claimdesk_local::desk::DecideError;
        match error {
            DecideError::Problem(problem) => {
                Self::new(ErrorCode::InvalidInput, problem.to_string())
            }
            DecideError::NotStored => Self::new(
                ErrorCode::NotFound,
                "Open the claim before deciding it: it is not stored on this computer.",
            ),
            DecideError::Unpriced => Self::new(
                ErrorCode::CacheFailed,
                "This claim could not be priced from its stored copy. Reopen it while online.",
            ),
            DecideError::Cache(e) => e.into(),
        }
    }
}

impl From<claimdesk_local::cache::CacheError> for CommandError {
    fn from(error: claimdesk_local::cache::CacheError) -> Self {
        use claimdesk_local::cache::CacheError;
        use claimdesk_local::keychain::KeychainError;
        let message = match &error {
            CacheError::Keychain(KeychainError::Unavailable(_)) => {
                "No system keychain answered. ClaimDesk keeps this computer's copy of your work \
                 encrypted under a key kept there, so it cannot sign you in without one."
            }
            CacheError::Keychain(KeychainError::Locked(_)) => "The system keychain is locked.",
            CacheError::Keychain(_) => "The system keychain refused ClaimDesk's key.",
            _ => "This computer's copy of your work could not be opened. Details are in the log.",
        };
        tracing::error!(error = %error, "local cache unavailable");
        Self::new(error.code(), message)
    }
}

impl From<claimdesk_local::documents::ViewError> for CommandError {
    fn from(error: claimdesk_local::documents::ViewError) -> Self {
        use claimdesk_local::documents::ViewError;
        match error {
            ViewError::NotFound => Self::new(
                ErrorCode::NotFound,
                "This document does not exist or is not visible to you.",
            ),
            ViewError::NotStored => Self::new(
                ErrorCode::ServerUnreachable,
                "The central server cannot be reached and this document is not stored on this \
                 computer. It opens once the connection is back.",
            ),
            ViewError::Central(code) => Self::new(
                code,
                "The central server refused to send this document. Try again; details are in the log.",
            ),
            ViewError::Integrity => Self::new(
                ErrorCode::DocumentIntegrity,
                "This document's content does not match the fingerprint (SHA-256) central \
                 recorded for it, so it was not shown or kept. Report it to your administrator.",
            ),
            ViewError::Unreadable(problem) => {
                Self::new(ErrorCode::DocumentUnreadable, problem.to_string())
            }
            ViewError::Cache(e) => e.into(),
        }
    }
}

impl From<claimdesk_local::documents::AttachError> for CommandError {
    fn from(error: claimdesk_local::documents::AttachError) -> Self {
        use claimdesk_local::documents::AttachError;
        match error {
            AttachError::Unreadable(problem) => {
                Self::new(ErrorCode::DocumentUnreadable, problem.to_string())
            }
            AttachError::Cache(e) => e.into(),
            other => Self::new(ErrorCode::InvalidInput, other.to_string()),
        }
    }
}

impl From<claimdesk_local::documents::ExportError> for CommandError {
    fn from(error: claimdesk_local::documents::ExportError) -> Self {
        use claimdesk_local::documents::ExportError;
        match error {
            ExportError::NotStored => Self::new(
                ErrorCode::NotFound,
                "Open the document before saving a copy.",
            ),
            ExportError::Integrity => Self::new(
                ErrorCode::DocumentIntegrity,
                "This computer's copy does not match its fingerprint; it was not saved. \
                 Open the document again online.",
            ),
            ExportError::Write(e) => {
                tracing::error!(error = %e, "export failed");
                Self::new(
                    ErrorCode::Internal,
                    "The copy could not be written to your downloads folder. Details are in the log.",
                )
            }
            ExportError::Cache(e) => e.into(),
        }
    }
}

impl From<claimdesk_core::nppes::NppesError> for CommandError {
    fn from(error: claimdesk_core::nppes::NppesError) -> Self {
        tracing::warn!(error = %error, "NPI Registry lookup failed");
        Self::new(error.code(), error.to_string())
    }
}
