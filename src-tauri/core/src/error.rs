//! Stable error codes shared by every boundary.
//!
//! The UI switches on these codes, never on message text, so a code once
//! shipped keeps its spelling. Messages are for people and may be reworded.

use serde::Serialize;

/// What went wrong, as a stable code the UI and scripts can branch on.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, specta::Type)]
#[serde(rename_all = "snake_case")]
pub enum ErrorCode {
    /// The server rejected the user name or password.
    AuthFailed,
    /// No server answered at the configured address, or it went away.
    ServerUnreachable,
    /// The server only accepts encrypted connections and TLS is disabled.
    TlsRequired,
    /// TLS was required by our settings but the server does not offer it.
    TlsUnavailable,
    /// The TLS handshake or certificate check failed.
    TlsFailed,
    /// The configured database does not exist on the server.
    UnknownDatabase,
    /// The server's access rules refuse this user from this client.
    AccessRejected,
    /// The server is starting, shutting down or out of connection slots.
    ServerBusy,
    /// The server reported an error we have no specific code for.
    ServerError,
    /// The record changed since the caller read it (optimistic concurrency).
    VersionConflict,
    /// The caller no longer holds the lease on the claim.
    LeaseLost,
    /// The record's state does not allow this action.
    InvalidTransition,
    /// The caller's role may not do this.
    PermissionDenied,
    /// The record does not exist (or is not visible to the caller).
    NotFound,
    /// No claim is waiting in the queue.
    QueueEmpty,
    /// Central refused a decision's figures: a line does not balance, an
    /// amount is negative, a group does not fit its reason, or the member's
    /// share passes what is left of the deductible or out-of-pocket maximum.
    FiguresRejected,
    /// The member's accumulators or benefit usage changed since the claim
    /// was priced: price it again and show the new figures before confirming.
    AccumulatorsChanged,
    /// The engine denies this claim outright (not eligible on the date of
    /// service, excluded provider, exact duplicate): it cannot be approved.
    EngineDenies,
    /// The engine holds this claim (suspect duplicate, provider not
    /// credentialed): approving it needs an override reason.
    OverrideRequired,
    /// A supervisor may not approve a claim they decided themselves.
    SeparationOfDuties,
    /// The payment is above the approver's own authority limit.
    AboveAuthority,
    /// A benefit's visit or annual limit would be passed (CARC 119).
    BenefitLimitReached,
    /// Someone else holds the lease on the claim the person tried to take.
    ClaimHeld,
    /// A command that needs a session was called while logged out.
    NotLoggedIn,
    /// The session is locked after inactivity (or by the person): nothing
    /// of theirs is read until they unlock it with their password.
    SessionLocked,
    /// The settings file or an environment override is invalid.
    SettingsInvalid,
    /// Input from the user or a file was rejected.
    InvalidInput,
    /// No OS keychain could be reached (no Secret Service, no session bus).
    KeychainUnavailable,
    /// The keychain is there but locked, or access to it was refused.
    KeychainLocked,
    /// The keychain refused or failed an operation for another reason.
    KeychainFailed,
    /// The local cache could not be read with the key in the keychain (key
    /// missing or changed, or the file is corrupt or foreign); it was wiped
    /// and is being rebuilt from central.
    CacheRebuilt,
    /// The local cache failed in a way a rebuild does not fix (disk full,
    /// permissions); the details are in the log.
    CacheFailed,
    /// A document's file cannot be shown: empty, cut off, not what its
    /// type says, or past the viewer's limits. The message says which.
    DocumentUnreadable,
    /// A document's content does not hash to its recorded SHA-256: altered
    /// in transit or on disk. Nothing was stored or shown.
    DocumentIntegrity,
    /// The NPI Registry (or another outside registry) refused the request.
    RegistryRefused,
    /// The NPI Registry did not answer: timeout, no connection, HTTP error.
    RegistryUnreachable,
    /// The NPI Registry's answer could not be read.
    RegistryMalformed,
    /// A bug or an environment problem; the details are in the log.
    Internal,
}
