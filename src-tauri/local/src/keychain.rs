//! The cache's data keys in the OS keychain.
//!
//! The store is chosen explicitly per platform (Secret Service over D-Bus on
//! Linux, the native keychains on macOS and Windows). keyring-core has no
//! silent fallback: without a store every call fails, and we say so. The
//! in-memory mock store appears only in this crate's unit tests.

use std::collections::BTreeMap;
use std::sync::Arc;

use base64::Engine;
use keyring_core::api::CredentialStore;
use keyring_core::Error as StoreError;
use zeroize::Zeroizing;

use crate::crypto::{DataKey, KeyId};

/// The keychain "service" every ClaimDesk cache key is filed under.
pub const SERVICE: &str = "ClaimDesk cache key";

/// Why the keychain could not give us a key.
#[derive(Debug, thiserror::Error)]
pub enum KeychainError {
    /// No keychain: no session bus, no Secret Service, or no store for this
    /// platform. Nothing was written anywhere else instead.
    #[error("no keychain is available ({0})")]
    Unavailable(String),
    /// The keychain is locked or refused access.
    #[error("the keychain is locked or refused access ({0})")]
    Locked(String),
    /// The stored value is not ours or is damaged.
    #[error("the keychain entry for the cache key is damaged")]
    Damaged,
    /// Anything else the platform reported.
    #[error("the keychain failed ({0})")]
    Failed(String),
}

impl KeychainError {
    /// The stable code the UI branches on.
    pub fn code(&self) -> claimdesk_core::ErrorCode {
        use claimdesk_core::ErrorCode;
        match self {
            Self::Unavailable(_) => ErrorCode::KeychainUnavailable,
            Self::Locked(_) => ErrorCode::KeychainLocked,
            Self::Damaged | Self::Failed(_) => ErrorCode::KeychainFailed,
        }
    }

    fn from_store(e: StoreError) -> Self {
        let text = e.to_string();
        match e {
            StoreError::NoStorageAccess(_) => Self::Locked(text),
            StoreError::NoDefaultStore | StoreError::NotSupportedByStore(_) => {
                Self::Unavailable(text)
            }
            StoreError::BadEncoding(_) | StoreError::BadDataFormat(..) => Self::Damaged,
            // A locked collection surfaces as a platform failure on some
            // Secret Service versions; so does a missing bus or service.
            _ if is_locked(&text) => Self::Locked(text),
            _ if is_unreachable(&text) => Self::Unavailable(text),
            _ => Self::Failed(text),
        }
    }
}

fn is_locked(text: &str) -> bool {
    let t = text.to_ascii_lowercase();
    t.contains("locked") || t.contains("prompt dismissed")
}

fn is_unreachable(text: &str) -> bool {
    let t = text.to_ascii_lowercase();
    t.contains("serviceunknown")
        || t.contains("org.freedesktop.secrets")
        || t.contains("failed to connect")
        || t.contains("autolaunch")
        || t.contains("dbus")
        || t.contains("no such file")
}

/// The keys of one cache: the current one seals, older ones still open
/// rows a rotation has not reached yet.
#[derive(Debug, Clone)]
pub struct KeyRing {
    current: DataKey,
    older: Vec<DataKey>,
}

impl KeyRing {
    /// A ring with one fresh key.
    pub fn fresh() -> Self {
        Self {
            current: DataKey::generate(KeyId(1)),
            older: Vec::new(),
        }
    }

    /// The key new blobs are sealed with.
    pub fn current(&self) -> &DataKey {
        &self.current
    }

    /// The key with this id, if the ring holds it.
    pub fn get(&self, id: KeyId) -> Option<&DataKey> {
        std::iter::once(&self.current)
            .chain(self.older.iter())
            .find(|k| k.id() == id)
    }

    /// Starts a rotation: a new current key, the old ones kept to open rows
    /// not yet re-sealed.
    pub fn rotated(&self) -> Self {
        let next = KeyId(self.current.id().0 + 1);
        let mut older = vec![self.current.clone()];
        older.extend(self.older.iter().cloned());
        Self {
            current: DataKey::generate(next),
            older,
        }
    }

    /// Ends a rotation: only the current key is kept.
    pub fn without_older(&self) -> Self {
        Self {
            current: self.current.clone(),
            older: Vec::new(),
        }
    }

    /// Ids of the keys held, current first.
    pub fn ids(&self) -> Vec<KeyId> {
        std::iter::once(&self.current)
            .chain(self.older.iter())
            .map(|k| k.id())
            .collect()
    }

    /// `v1 <current id> <id>:<base64> ...`, current key first.
    fn encode(&self) -> Zeroizing<String> {
        let b64 = base64::engine::general_purpose::STANDARD;
        let mut out = Zeroizing::new(format!("v1 {}", self.current.id().0));
        for k in std::iter::once(&self.current).chain(self.older.iter()) {
            out.push(' ');
            out.push_str(&k.id().0.to_string());
            out.push(':');
            out.push_str(&b64.encode(k.bytes()));
        }
        out
    }

    fn decode(text: &str) -> Option<Self> {
        let b64 = base64::engine::general_purpose::STANDARD;
        let mut parts = text.split(' ');
        if parts.next()? != "v1" {
            return None;
        }
        let current_id: u32 = parts.next()?.parse().ok()?;
        let mut keys = BTreeMap::new();
        for part in parts {
            let (id, material) = part.split_once(':')?;
            let id: u32 = id.parse().ok()?;
            let bytes = Zeroizing::new(b64.decode(material).ok()?);
            let bytes: [u8; 32] = bytes.as_slice().try_into().ok()?;
            keys.insert(id, DataKey::from_bytes(KeyId(id), bytes));
        }
        let current = keys.remove(&current_id)?;
        Some(Self {
            current,
            older: keys.into_values().rev().collect(),
        })
    }
}

/// One platform keychain.
///
/// The store lives on a thread of its own: its calls block (D-Bus on Linux)
/// and dropping it may block too, which must never happen on the async
/// runtime. This handle sends it work and awaits the answer.
#[derive(Clone)]
pub struct Keychain {
    jobs: std::sync::mpsc::Sender<Job>,
}

type Job = Box<dyn FnOnce(&CredentialStore) + Send>;

impl std::fmt::Debug for Keychain {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Keychain").finish_non_exhaustive()
    }
}

/// Whether [`Keychain::load_or_create`] found a key or made one.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum KeyOrigin {
    /// The keychain had this cache's keys.
    Found,
    /// There was none (first run, or it was removed): a new key was stored.
    Created,
}

fn platform_store() -> Result<Arc<CredentialStore>, StoreError> {
    #[cfg(target_os = "linux")]
    let store = zbus_secret_service_keyring_store::Store::new().map(|s| s as Arc<CredentialStore>);
    #[cfg(target_os = "macos")]
    let store =
        apple_native_keyring_store::keychain::Store::new().map(|s| s as Arc<CredentialStore>);
    #[cfg(target_os = "windows")]
    let store = windows_native_keyring_store::Store::new().map(|s| s as Arc<CredentialStore>);
    #[cfg(not(any(target_os = "linux", target_os = "macos", target_os = "windows")))]
    let store: Result<Arc<CredentialStore>, StoreError> = Err(StoreError::NotSupportedByStore(
        "no keychain store for this platform".into(),
    ));
    store
}

impl Keychain {
    /// This platform's keychain.
    pub async fn platform() -> Result<Self, KeychainError> {
        // Failing to even open the store means there is no keychain to use.
        Self::spawn(platform_store).await.map_err(|e| match e {
            KeychainError::Failed(t) => KeychainError::Unavailable(t),
            other => other,
        })
    }

    /// A keychain over a given store (unit tests use keyring-core's mock).
    pub async fn with_store(store: Arc<CredentialStore>) -> Self {
        Self::spawn(move || Ok(store))
            .await
            .expect("a given store always opens")
    }

    async fn spawn(
        open: impl FnOnce() -> Result<Arc<CredentialStore>, StoreError> + Send + 'static,
    ) -> Result<Self, KeychainError> {
        let (jobs, inbox) = std::sync::mpsc::channel::<Job>();
        let (ready_tx, ready) = tokio::sync::oneshot::channel();
        std::thread::Builder::new()
            .name("keychain".into())
            .spawn(move || match open() {
                Ok(store) => {
                    let _ = ready_tx.send(Ok(()));
                    // Ends when every handle is gone; the store drops here.
                    for job in inbox {
                        job(&*store);
                    }
                }
                Err(e) => {
                    let _ = ready_tx.send(Err(KeychainError::from_store(e)));
                }
            })
            .map_err(|e| KeychainError::Failed(e.to_string()))?;
        ready
            .await
            .map_err(|_| KeychainError::Failed("the keychain thread stopped".into()))??;
        Ok(Self { jobs })
    }

    async fn run<R: Send + 'static>(
        &self,
        f: impl FnOnce(&CredentialStore) -> R + Send + 'static,
    ) -> Result<R, KeychainError> {
        let (reply, answer) = tokio::sync::oneshot::channel();
        self.jobs
            .send(Box::new(move |store| {
                let _ = reply.send(f(store));
            }))
            .map_err(|_| KeychainError::Failed("the keychain thread stopped".into()))?;
        answer
            .await
            .map_err(|_| KeychainError::Failed("the keychain thread stopped".into()))
    }

    /// The keys of the cache `account`, if the keychain has them.
    pub async fn load(&self, account: &str) -> Result<Option<KeyRing>, KeychainError> {
        let account = account.to_string();
        self.run(move |store| {
            let entry = store
                .build(SERVICE, &account, None)
                .map_err(KeychainError::from_store)?;
            match entry.get_secret() {
                Ok(bytes) => {
                    let text = Zeroizing::new(bytes);
                    std::str::from_utf8(&text)
                        .ok()
                        .and_then(KeyRing::decode)
                        .map(Some)
                        .ok_or(KeychainError::Damaged)
                }
                Err(StoreError::NoEntry) => Ok(None),
                Err(e) => Err(KeychainError::from_store(e)),
            }
        })
        .await?
    }

    /// Writes the keys of the cache `account`, replacing what was there.
    pub async fn store(&self, account: &str, ring: &KeyRing) -> Result<(), KeychainError> {
        let account = account.to_string();
        let encoded = ring.encode();
        self.run(move |store| {
            store
                .build(SERVICE, &account, None)
                .and_then(|e| e.set_secret(encoded.as_bytes()))
                .map_err(KeychainError::from_store)
        })
        .await?
    }

    /// The cache's keys, or a fresh key stored now when there are none.
    pub async fn load_or_create(
        &self,
        account: &str,
    ) -> Result<(KeyRing, KeyOrigin), KeychainError> {
        if let Some(ring) = self.load(account).await? {
            return Ok((ring, KeyOrigin::Found));
        }
        let ring = KeyRing::fresh();
        self.store(account, &ring).await?;
        Ok((ring, KeyOrigin::Created))
    }

    /// Removes the cache's keys (logout with wipe). Absent keys are fine.
    pub async fn delete(&self, account: &str) -> Result<(), KeychainError> {
        let account = account.to_string();
        self.run(move |store| {
            match store
                .build(SERVICE, &account, None)
                .and_then(|e| e.delete_credential())
            {
                Ok(()) | Err(StoreError::NoEntry) => Ok(()),
                Err(e) => Err(KeychainError::from_store(e)),
            }
        })
        .await?
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    async fn mock() -> (Keychain, Arc<CredentialStore>) {
        let store: Arc<CredentialStore> = keyring_core::mock::Store::new().unwrap();
        (Keychain::with_store(store.clone()).await, store)
    }

    #[tokio::test]
    async fn first_run_creates_then_finds_the_same_key() {
        let (kc, _) = mock().await;
        let (made, origin) = kc.load_or_create("alice@db:5432/claimdesk").await.unwrap();
        assert_eq!(origin, KeyOrigin::Created);
        let (found, origin) = kc.load_or_create("alice@db:5432/claimdesk").await.unwrap();
        assert_eq!(origin, KeyOrigin::Found);
        let row = uuid::Uuid::new_v4();
        let blob = made.current().seal("member", row, b"x");
        assert_eq!(found.current().open("member", row, &blob).unwrap(), b"x");
        // Another user's cache has another key.
        let (other, _) = kc.load_or_create("bob@db:5432/claimdesk").await.unwrap();
        assert!(other.current().open("member", row, &blob).is_err());
        kc.delete("alice@db:5432/claimdesk").await.unwrap();
        assert!(kc.load("alice@db:5432/claimdesk").await.unwrap().is_none());
    }

    #[test]
    fn rotation_keeps_old_keys_until_told_otherwise() {
        let ring = KeyRing::fresh();
        let rotated = ring.rotated();
        assert_eq!(rotated.ids(), vec![KeyId(2), KeyId(1)]);
        let decoded = KeyRing::decode(&rotated.encode()).unwrap();
        assert_eq!(decoded.ids(), vec![KeyId(2), KeyId(1)]);
        assert_eq!(decoded.without_older().ids(), vec![KeyId(2)]);
    }

    #[tokio::test]
    async fn a_damaged_entry_is_reported_not_replaced() {
        let (kc, store) = mock().await;
        store
            .build(SERVICE, "carol", None)
            .unwrap()
            .set_secret(b"not ours")
            .unwrap();
        assert!(matches!(
            kc.load("carol").await,
            Err(KeychainError::Damaged)
        ));
        assert!(matches!(
            kc.load_or_create("carol").await,
            Err(KeychainError::Damaged)
        ));
    }

    #[test]
    fn store_errors_map_to_what_the_person_can_do() {
        use claimdesk_core::ErrorCode;
        let locked = KeychainError::from_store(StoreError::NoStorageAccess(
            "Cannot create an item in a locked collection".into(),
        ));
        assert_eq!(locked.code(), ErrorCode::KeychainLocked);
        let none = KeychainError::from_store(StoreError::NoDefaultStore);
        assert_eq!(none.code(), ErrorCode::KeychainUnavailable);
        let unknown = KeychainError::from_store(StoreError::PlatformFailure(
            "org.freedesktop.DBus.Error.ServiceUnknown: The name org.freedesktop.secrets was not provided"
                .into(),
        ));
        assert_eq!(unknown.code(), ErrorCode::KeychainUnavailable);
        let dismissed =
            KeychainError::from_store(StoreError::PlatformFailure("prompt dismissed".into()));
        assert_eq!(dismissed.code(), ErrorCode::KeychainLocked);
    }

    #[tokio::test]
    async fn an_injected_locked_error_reaches_the_caller() {
        let (kc, store) = mock().await;
        let entry = store.build(SERVICE, "dave", None).unwrap();
        let cred: &keyring_core::mock::Cred = entry.as_any().downcast_ref().unwrap();
        cred.set_error(StoreError::NoStorageAccess("locked".into()));
        // The mock hands the same credential to a new entry for the same account.
        assert!(matches!(
            kc.load("dave").await,
            Err(KeychainError::Locked(_))
        ));
    }
}
