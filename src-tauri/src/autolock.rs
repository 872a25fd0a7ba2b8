//! The session lock's commands: activity, lock, unlock. Thin over
//! `claimdesk_core::autolock`; what locking drops from memory is here,
//! because that memory is the app's.

use chrono::{DateTime, Duration, Utc};
use claimdesk_core::autolock::{AutoLock, LockReason, LockStatus, UnlockError};
use claimdesk_core::{ErrorCode, Secret};
use tauri::State;

use crate::commands::{end_session, not_logged_in};
use crate::error::CommandError;
use crate::state::AppState;

/// The lock for a session about to sign in with `password`, locking after
/// `lock_after_secs` (the settings'); the password is not kept, only a
/// salted hash of it.
pub(crate) fn prepare(lock_after_secs: u32, password: &Secret<String>) -> AutoLock {
    let salt = uuid::Uuid::new_v4().into_bytes();
    AutoLock::new(
        password.expose(),
        salt,
        Duration::seconds(lock_after_secs.into()),
        Utc::now(),
    )
}

/// Starts the lock of the session just signed in.
pub(crate) fn start(state: &AppState, lock: AutoLock) {
    *state.autolock.lock().expect("lock state") = Some(lock);
}

pub(crate) fn stop(state: &AppState) {
    *state.autolock.lock().expect("lock state") = None;
}

fn locked() -> CommandError {
    CommandError::new(
        ErrorCode::SessionLocked,
        "ClaimDesk is locked. Unlock it with your password.",
    )
}

/// Runs `step` (a check, or activity) on the session's lock: None when
/// signed out; refused when the session is locked, what it holds dropped
/// the moment it locks by itself.
async fn gate(
    state: &AppState,
    step: impl FnOnce(&mut AutoLock, DateTime<Utc>) -> Result<(), LockReason>,
) -> Option<Result<(), CommandError>> {
    let outcome = state
        .autolock
        .lock()
        .expect("lock state")
        .as_mut()
        .map(|l| {
            let was_open = l.status().locked.is_none();
            step(l, Utc::now()).map_err(|reason| (was_open, reason))
        })?;
    Some(match outcome {
        Ok(()) => Ok(()),
        Err((newly, reason)) => {
            if newly {
                on_locked(state, reason).await;
            }
            Err(locked())
        }
    })
}

/// Refuses while the session is locked. Reading the person's data goes
/// through here, so a window that stopped reporting activity (or never
/// showed its lock screen) still gets nothing once the timeout has passed.
pub(crate) async fn ensure_unlocked(state: &AppState) -> Result<(), CommandError> {
    // Signed out: the command's own check says so.
    gate(state, AutoLock::check).await.unwrap_or(Ok(()))
}

async fn on_locked(state: &AppState, reason: LockReason) {
    tracing::info!(?reason, "session locked");
    forget(state).await;
}

/// Drops what this session holds decrypted in memory: the documents
/// opened for viewing and the provider directory. The cache key stays, so
/// the sync engine keeps the encrypted copy current while locked.
async fn forget(state: &AppState) {
    state.viewable.lock().await.clear();
    if let Some(local) = state.local.lock().await.as_ref() {
        local.directory().forget().await;
        local.queue_index().forget().await;
        // Nothing is on screen: files past the cap may go at the next trim.
        local.cache().nothing_on_screen();
    }
}

fn status(state: &AppState) -> Result<LockStatus, CommandError> {
    state
        .autolock
        .lock()
        .expect("lock state")
        .as_ref()
        .map(AutoLock::status)
        .ok_or_else(not_logged_in)
}

/// The person is at the keyboard: the timeout starts again. Refused with
/// `session_locked` once the session has locked.
#[tauri::command]
#[specta::specta]
pub async fn touch_session(state: State<'_, AppState>) -> Result<LockStatus, CommandError> {
    gate(&state, AutoLock::touch)
        .await
        .ok_or_else(not_logged_in)??;
    status(&state)
}

/// Locks now: the window's inactivity timer, or the person stepping away.
#[tauri::command]
#[specta::specta]
pub async fn lock_session(
    state: State<'_, AppState>,
    reason: LockReason,
) -> Result<LockStatus, CommandError> {
    let newly = state
        .autolock
        .lock()
        .expect("lock state")
        .as_mut()
        .map(|l| l.lock(Utc::now(), reason))
        .ok_or_else(not_logged_in)?;
    if newly {
        on_locked(&state, reason).await;
    }
    status(&state)
}

/// Unlocks with the sign-in password. After five wrong ones the session
/// ends (`not_logged_in`), as a sign-out would, keeping this computer's
/// encrypted copy.
#[tauri::command]
#[specta::specta]
pub async fn unlock_session(
    state: State<'_, AppState>,
    password: Secret<String>,
) -> Result<LockStatus, CommandError> {
    let result = state
        .autolock
        .lock()
        .expect("lock state")
        .as_mut()
        .map(|l| l.unlock(password.expose(), Utc::now()))
        .ok_or_else(not_logged_in)?;
    match result {
        Ok(()) => {
            tracing::info!("session unlocked");
            status(&state)
        }
        Err(UnlockError::WrongPassword { tries_left }) => {
            tracing::warn!(tries_left, "wrong password at unlock");
            Err(CommandError::new(
                ErrorCode::AuthFailed,
                format!(
                    "That is not the password you signed in with. {tries_left} {} left before you are signed out.",
                    if tries_left == 1 { "try" } else { "tries" }
                ),
            ))
        }
        Err(UnlockError::TooManyFailures) => {
            tracing::warn!("too many wrong passwords at unlock: signing out");
            end_session(&state, false).await?;
            Err(CommandError::new(
                ErrorCode::NotLoggedIn,
                "Too many wrong passwords: you were signed out. Sign in again.",
            ))
        }
    }
}
