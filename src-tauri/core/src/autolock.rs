//! Automatic lock after inactivity (HIPAA 164.312(a)(2)(iii)).
//!
//! The window measures activity and locks itself on time; this is the
//! other half, which no window can skip: the session's lock, kept beside the
//! data. Commands that read the person's data ask [`AutoLock::check`] first,
//! and it locks by itself once no activity was reported for the timeout and
//! a grace (the window reports activity at most every so often).
//!
//! Unlocking takes the sign-in password, checked here against a salted
//! PBKDF2 hash made at sign-in, so that it works offline, and the password
//! itself is not kept. After [`MAX_UNLOCK_FAILURES`] wrong passwords the
//! session must end. Clocks and salts are passed in.

use chrono::{DateTime, Duration, Utc};
use serde::{Deserialize, Serialize};

use crate::scram::salted_password;

/// Wrong passwords before the session is ended.
pub const MAX_UNLOCK_FAILURES: u32 = 5;

/// PBKDF2 rounds for the in-memory verifier: it never leaves memory, where
/// the cache key also lives, so a few milliseconds is proportionate.
const ROUNDS: u32 = 10_000;

/// Why the session locked.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, specta::Type)]
#[serde(rename_all = "snake_case")]
pub enum LockReason {
    /// No activity for the timeout.
    Idle,
    /// The person locked it.
    Manual,
}

/// The lock as the window sees it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, specta::Type)]
pub struct LockStatus {
    /// Locked since, and why; None while unlocked.
    pub locked: Option<(DateTime<Utc>, LockReason)>,
    /// Wrong passwords left before the session ends.
    pub tries_left: u32,
    /// The timeout, in seconds.
    pub after_secs: u32,
}

/// Why an unlock failed.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum UnlockError {
    /// Not the sign-in password.
    #[error("that is not the password you signed in with ({tries_left} tries left)")]
    WrongPassword {
        /// Before the session ends.
        tries_left: u32,
    },
    /// Too many wrong passwords: the session must end.
    #[error("too many wrong passwords; sign in again")]
    TooManyFailures,
}

struct Verifier {
    salt: [u8; 16],
    hash: [u8; 32],
}

impl Verifier {
    fn new(password: &str, salt: [u8; 16]) -> Self {
        Self {
            salt,
            hash: salted_password(password, &salt, ROUNDS),
        }
    }

    fn matches(&self, password: &str) -> bool {
        let other = salted_password(password, &self.salt, ROUNDS);
        // Constant time: the difference of every byte is looked at.
        self.hash
            .iter()
            .zip(other.iter())
            .fold(0u8, |acc, (a, b)| acc | (a ^ b))
            == 0
    }
}

/// One signed-in session's lock.
pub struct AutoLock {
    verifier: Verifier,
    after: Duration,
    last_activity: DateTime<Utc>,
    locked: Option<(DateTime<Utc>, LockReason)>,
    failures: u32,
}

impl std::fmt::Debug for AutoLock {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("AutoLock")
            .field("after", &self.after)
            .field("locked", &self.locked)
            .field("failures", &self.failures)
            .finish_non_exhaustive()
    }
}

impl AutoLock {
    /// A fresh, unlocked session: `password` is the one just signed in with.
    pub fn new(password: &str, salt: [u8; 16], after: Duration, now: DateTime<Utc>) -> Self {
        Self {
            verifier: Verifier::new(password, salt),
            after,
            last_activity: now,
            locked: None,
            failures: 0,
        }
    }

    /// How long the window may go between activity reports: it reports at
    /// most every quarter of the timeout (or 30 s), and the session allows
    /// twice that before locking by itself.
    pub fn report_every(after: Duration) -> Duration {
        (after / 4).min(Duration::seconds(30))
    }

    fn grace(&self) -> Duration {
        Self::report_every(self.after) * 2
    }

    /// Whether the person's data may be read now; locks once the window
    /// has reported no activity for the timeout and the grace.
    pub fn check(&mut self, now: DateTime<Utc>) -> Result<(), LockReason> {
        if self.locked.is_none() && now - self.last_activity > self.after + self.grace() {
            self.locked = Some((now, LockReason::Idle));
        }
        match self.locked {
            Some((_, reason)) => Err(reason),
            None => Ok(()),
        }
    }

    /// Activity in the window: the timeout starts again, unless locked.
    pub fn touch(&mut self, now: DateTime<Utc>) -> Result<(), LockReason> {
        self.check(now)?;
        self.last_activity = now;
        Ok(())
    }

    /// Locks now (the window's timer or the person). True when it was not
    /// locked already.
    pub fn lock(&mut self, now: DateTime<Utc>, reason: LockReason) -> bool {
        if self.locked.is_some() {
            return false;
        }
        self.locked = Some((now, reason));
        true
    }

    /// Unlocks with the sign-in password. Unlocking an unlocked session
    /// checks the password all the same.
    pub fn unlock(&mut self, password: &str, now: DateTime<Utc>) -> Result<(), UnlockError> {
        if self.failures >= MAX_UNLOCK_FAILURES {
            return Err(UnlockError::TooManyFailures);
        }
        if !self.verifier.matches(password) {
            self.failures += 1;
            return Err(match MAX_UNLOCK_FAILURES - self.failures {
                0 => UnlockError::TooManyFailures,
                tries_left => UnlockError::WrongPassword { tries_left },
            });
        }
        self.failures = 0;
        self.locked = None;
        self.last_activity = now;
        Ok(())
    }

    /// The state for the window.
    pub fn status(&self) -> LockStatus {
        LockStatus {
            locked: self.locked,
            tries_left: MAX_UNLOCK_FAILURES - self.failures,
            after_secs: u32::try_from(self.after.num_seconds()).unwrap_or(u32::MAX),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn t(s: &str) -> DateTime<Utc> {
        format!("2026-03-10T{s}Z").parse().unwrap()
    }

    fn lock() -> AutoLock {
        AutoLock::new(
            "correct horse",
            [7; 16],
            Duration::minutes(15),
            t("09:00:00"),
        )
    }

    #[test]
    fn locks_by_itself_only_after_the_timeout_and_grace() {
        let mut l = lock();
        // Reports every 30 s at most, so 60 s of grace.
        assert_eq!(
            AutoLock::report_every(Duration::minutes(15)),
            Duration::seconds(30)
        );
        assert_eq!(l.check(t("09:16:00")), Ok(()));
        assert_eq!(l.touch(t("09:16:00")), Ok(()));
        assert_eq!(l.check(t("09:32:00")), Ok(()));
        assert_eq!(l.check(t("09:32:01")), Err(LockReason::Idle));
        assert_eq!(l.status().locked, Some((t("09:32:01"), LockReason::Idle)));
        // Activity does not unlock.
        assert_eq!(l.touch(t("09:32:02")), Err(LockReason::Idle));
        assert_eq!(l.check(t("09:32:03")), Err(LockReason::Idle));
    }

    #[test]
    fn short_timeouts_report_more_often() {
        assert_eq!(
            AutoLock::report_every(Duration::seconds(8)),
            Duration::seconds(2)
        );
        let mut l = AutoLock::new("pw", [1; 16], Duration::seconds(8), t("09:00:00"));
        assert_eq!(l.check(t("09:00:12")), Ok(()));
        assert_eq!(l.check(t("09:00:13")), Err(LockReason::Idle));
    }

    #[test]
    fn unlock_takes_the_password_and_ends_after_five_wrong_ones() {
        let mut l = lock();
        assert!(l.lock(t("09:05:00"), LockReason::Manual));
        assert!(!l.lock(t("09:06:00"), LockReason::Idle), "already locked");
        assert_eq!(l.check(t("09:06:00")), Err(LockReason::Manual));
        assert_eq!(
            l.unlock("Correct horse", t("09:07:00")),
            Err(UnlockError::WrongPassword { tries_left: 4 })
        );
        assert_eq!(l.status().tries_left, 4);
        assert_eq!(l.unlock("correct horse", t("09:08:00")), Ok(()));
        assert_eq!(
            l.status().tries_left,
            5,
            "a right password resets the count"
        );
        // Unlocking starts the timeout again.
        assert_eq!(l.check(t("09:23:00")), Ok(()));

        l.lock(t("09:30:00"), LockReason::Manual);
        for left in (1..=4).rev() {
            assert_eq!(
                l.unlock("guess", t("09:31:00")),
                Err(UnlockError::WrongPassword { tries_left: left })
            );
        }
        assert_eq!(
            l.unlock("guess", t("09:31:00")),
            Err(UnlockError::TooManyFailures)
        );
        // The right password no longer helps.
        assert_eq!(
            l.unlock("correct horse", t("09:32:00")),
            Err(UnlockError::TooManyFailures)
        );
        assert!(l.check(t("09:32:00")).is_err());
    }

    #[test]
    fn debug_shows_no_verifier() {
        let shown = format!("{:?}", lock());
        assert!(
            !shown.contains("hash") && !shown.contains("salt"),
            "{shown}"
        );
    }
}
