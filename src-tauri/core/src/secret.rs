//! A wrapper for values that must never be printed or persisted by accident:
//! passwords today, PHI (names, dates of birth, member ids, diagnoses) later.

use std::fmt;

use serde::{Deserialize, Deserializer};
use zeroize::Zeroize;

/// Holds a secret or PHI value.
///
/// - `Debug` and `Display` print `***`, so the value cannot leak through
///   `tracing` fields, `{:?}` in a panic message or an error chain.
/// - It is deliberately not `Serialize`: sending the value anywhere takes an
///   explicit [`Secret::expose`] at the call site, where a reviewer sees it.
/// - The memory is zeroized on drop.
#[derive(Clone, Default, PartialEq, Eq, specta::Type)]
#[specta(transparent)]
pub struct Secret<T: Zeroize>(T);

impl<T: Zeroize> Secret<T> {
    /// Wraps a value.
    pub fn new(value: T) -> Self {
        Self(value)
    }

    /// Borrows the value. Every call is a place where the secret leaves its
    /// wrapper on purpose, so keep them few and obvious.
    pub fn expose(&self) -> &T {
        &self.0
    }
}

impl<T: Zeroize> From<T> for Secret<T> {
    fn from(value: T) -> Self {
        Self(value)
    }
}

impl<T: Zeroize> fmt::Debug for Secret<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("***")
    }
}

impl<T: Zeroize> fmt::Display for Secret<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("***")
    }
}

impl<T: Zeroize> Drop for Secret<T> {
    fn drop(&mut self) {
        self.0.zeroize();
    }
}

impl<'de, T: Zeroize + Deserialize<'de>> Deserialize<'de> for Secret<T> {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        T::deserialize(deserializer).map(Secret)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn debug_and_display_are_masked() {
        let password = Secret::new("hunter2-correct-horse".to_string());
        assert_eq!(format!("{password:?}"), "***");
        assert_eq!(format!("{password}"), "***");
        #[derive(Debug)]
        #[allow(dead_code)]
        struct Login {
            user: String,
            password: Secret<String>,
        }
        let login = Login {
            user: "ada".into(),
            password,
        };
        let printed = format!("{login:?} {login:#?}");
        assert!(!printed.contains("hunter2"), "{printed}");
    }

    #[test]
    fn deserializes_from_a_plain_value_and_exposes_it() {
        let secret: Secret<String> = serde_json::from_str("\"s3cret\"").unwrap();
        assert_eq!(secret.expose(), "s3cret");
    }

    // Inherent consts win over trait consts only when their bound holds, so
    // `Probe::<T>::IS` is true exactly when T: Serialize. Checked at compile time.
    #[test]
    fn is_not_serialize() {
        trait MaybeSerialize {
            const IS: bool = false;
        }
        impl<T> MaybeSerialize for T {}
        struct Probe<T>(std::marker::PhantomData<T>);
        #[allow(dead_code)]
        impl<T: serde::Serialize> Probe<T> {
            const IS: bool = true;
        }
        const { assert!(!Probe::<Secret<String>>::IS) };
        const { assert!(Probe::<String>::IS) };
    }
}
