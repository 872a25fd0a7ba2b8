//! Field-level encryption of identifiers in the central database: SSNs and
//! tax ids are stored only as AES-256-GCM ciphertext with the version of the
//! key that sealed them (seeds 000 and 003).
//!
//! Keys live outside the database, in a key file only administrators and the
//! intake path can read (a KMS in production). Desktop roles never see the
//! ciphertext columns at all; they show the last four digits.

use std::collections::BTreeMap;
use std::path::Path;

use aes_gcm::aead::{Aead, Payload};
use aes_gcm::{Aes256Gcm, KeyInit, Nonce};
use base64::engine::general_purpose::STANDARD as B64;
use base64::Engine;
use rand::RngCore;
use serde::{Deserialize, Serialize};
use sqlx::PgConnection;
use uuid::Uuid;

use crate::Secret;

/// Blob format version, the first byte of every ciphertext.
const FORMAT: u8 = 1;

/// A 256-bit data key: zeroized on drop, masked in Debug, not Serialize.
pub type FieldKey = Secret<[u8; 32]>;

/// The encrypted identifier columns: (table, column prefix).
/// `<prefix>_ciphertext` holds the blob and `<prefix>_key_version` the key.
pub const ENCRYPTED_FIELDS: [(&str, &str); 3] = [
    ("member", "ssn"),
    ("provider", "tax_id"),
    ("employer_group", "tax_id"),
];

/// Why a field could not be sealed or opened.
#[derive(Debug, thiserror::Error)]
pub enum FieldCryptError {
    /// The key file is missing, unreadable or malformed.
    #[error("key file {path}: {reason}")]
    KeyFile {
        /// The file.
        path: String,
        /// What is wrong.
        reason: String,
    },
    /// A row names a key version the key file does not have.
    #[error("no key with version {0} in the key file")]
    UnknownKey(i32),
    /// Authentication failed: wrong key, wrong row, or altered bytes.
    #[error("ciphertext does not open with key {0} (tampered, or sealed for another row)")]
    Corrupt(i32),
    /// The database refused.
    #[error(transparent)]
    Database(#[from] sqlx::Error),
}

/// The on-disk key file: versions to base64 keys, and the one to seal with.
#[derive(Serialize, Deserialize)]
struct KeyFileJson {
    current: i32,
    keys: BTreeMap<i32, String>,
}

/// The keys an administrator holds.
pub struct FieldKeys {
    current: i32,
    keys: BTreeMap<i32, FieldKey>,
}

impl std::fmt::Debug for FieldKeys {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("FieldKeys")
            .field("current", &self.current)
            .field("versions", &self.keys.keys().collect::<Vec<_>>())
            .finish()
    }
}

impl FieldKeys {
    /// A key ring with one fresh random key, version 1.
    pub fn generate() -> Self {
        let mut ring = Self {
            current: 0,
            keys: BTreeMap::new(),
        };
        ring.add_version();
        ring
    }

    /// Adds a fresh random key as the new current version and returns it.
    pub fn add_version(&mut self) -> i32 {
        let mut key = [0u8; 32];
        rand::thread_rng().fill_bytes(&mut key);
        let version = self.keys.keys().max().copied().unwrap_or(0) + 1;
        self.keys.insert(version, Secret::new(key));
        self.current = version;
        version
    }

    /// The version new ciphertext is sealed with.
    pub fn current(&self) -> i32 {
        self.current
    }

    /// Reads a key file.
    pub fn load(path: &Path) -> Result<Self, FieldCryptError> {
        let bad = |reason: String| FieldCryptError::KeyFile {
            path: path.display().to_string(),
            reason,
        };
        let text = std::fs::read_to_string(path).map_err(|e| bad(e.to_string()))?;
        let json: KeyFileJson = serde_json::from_str(&text).map_err(|e| bad(e.to_string()))?;
        let mut keys = BTreeMap::new();
        for (version, b64) in json.keys {
            let bytes = B64
                .decode(b64)
                .map_err(|e| bad(format!("key {version}: {e}")))?;
            let key: [u8; 32] = bytes
                .try_into()
                .map_err(|_| bad(format!("key {version} is not 32 bytes")))?;
            keys.insert(version, Secret::new(key));
        }
        if !keys.contains_key(&json.current) {
            return Err(bad(format!("current key {} is missing", json.current)));
        }
        Ok(Self {
            current: json.current,
            keys,
        })
    }

    /// Writes the key file atomically, readable by its owner only.
    pub fn save(&self, path: &Path) -> Result<(), FieldCryptError> {
        let bad = |reason: String| FieldCryptError::KeyFile {
            path: path.display().to_string(),
            reason,
        };
        let json = KeyFileJson {
            current: self.current,
            keys: self
                .keys
                .iter()
                .map(|(v, k)| (*v, B64.encode(k.expose())))
                .collect(),
        };
        let text = serde_json::to_string_pretty(&json).map_err(|e| bad(e.to_string()))?;
        let tmp = path.with_extension("tmp");
        write_private(&tmp, text.as_bytes()).map_err(|e| bad(e.to_string()))?;
        std::fs::rename(&tmp, path).map_err(|e| bad(e.to_string()))
    }

    fn key(&self, version: i32) -> Result<&FieldKey, FieldCryptError> {
        self.keys
            .get(&version)
            .ok_or(FieldCryptError::UnknownKey(version))
    }

    /// Seals `plaintext` for one row's column with the current key.
    pub fn seal(&self, table: &str, column: &str, row: Uuid, plaintext: &str) -> Vec<u8> {
        let version = self.current;
        let key = self
            .key(version)
            .expect("the current key is always present");
        let cipher = Aes256Gcm::new(key.expose().into());
        let mut nonce = [0u8; 12];
        rand::thread_rng().fill_bytes(&mut nonce);
        let aad = aad(table, column, row, version);
        let sealed = cipher
            .encrypt(
                Nonce::from_slice(&nonce),
                Payload {
                    msg: plaintext.as_bytes(),
                    aad: aad.as_bytes(),
                },
            )
            .expect("AES-GCM encryption of a short field cannot fail");
        let mut blob = Vec::with_capacity(1 + 12 + sealed.len());
        blob.push(FORMAT);
        blob.extend_from_slice(&nonce);
        blob.extend_from_slice(&sealed);
        blob
    }

    /// Opens a blob sealed for this row's column with key `version`.
    pub fn open(
        &self,
        table: &str,
        column: &str,
        row: Uuid,
        version: i32,
        blob: &[u8],
    ) -> Result<Secret<String>, FieldCryptError> {
        let key = self.key(version)?;
        if blob.len() < 1 + 12 + 16 || blob[0] != FORMAT {
            return Err(FieldCryptError::Corrupt(version));
        }
        let cipher = Aes256Gcm::new(key.expose().into());
        let aad = aad(table, column, row, version);
        let plain = cipher
            .decrypt(
                Nonce::from_slice(&blob[1..13]),
                Payload {
                    msg: &blob[13..],
                    aad: aad.as_bytes(),
                },
            )
            .map_err(|_| FieldCryptError::Corrupt(version))?;
        String::from_utf8(plain)
            .map(Secret::new)
            .map_err(|_| FieldCryptError::Corrupt(version))
    }
}

/// Binds a ciphertext to its place: moving it to another row or column, or
/// relabelling its key version, makes it fail to open. Frozen once shipped.
fn aad(table: &str, column: &str, row: Uuid, version: i32) -> String {
    format!("claimdesk.field.v1|{table}|{column}|{row}|{version}")
}

#[cfg(unix)]
fn write_private(path: &Path, bytes: &[u8]) -> std::io::Result<()> {
    use std::io::Write;
    use std::os::unix::fs::OpenOptionsExt;
    let mut file = std::fs::OpenOptions::new()
        .write(true)
        .create(true)
        .truncate(true)
        .mode(0o600)
        .open(path)?;
    file.write_all(bytes)?;
    file.sync_all()
}

#[cfg(not(unix))]
fn write_private(path: &Path, bytes: &[u8]) -> std::io::Result<()> {
    std::fs::write(path, bytes)
}

/// Re-encrypts every identifier sealed with an older key to the current
/// one, in batches of `batch` rows per transaction, and returns how many rows
/// moved. Safe to interrupt and run again: each row carries its own version.
pub async fn rotate(
    conn: &mut PgConnection,
    keys: &FieldKeys,
    batch: i64,
) -> Result<u64, FieldCryptError> {
    let mut moved = 0u64;
    for (table, prefix) in ENCRYPTED_FIELDS {
        loop {
            let mut tx = sqlx::Connection::begin(&mut *conn).await?;
            let rows: Vec<(Uuid, Vec<u8>, i32)> = sqlx::query_as(&format!(
                "SELECT id, {prefix}_ciphertext, {prefix}_key_version FROM claimdesk.{table}
                 WHERE {prefix}_key_version <> $1 ORDER BY id LIMIT $2 FOR UPDATE"
            ))
            .bind(keys.current)
            .bind(batch)
            .fetch_all(&mut *tx)
            .await?;
            if rows.is_empty() {
                break;
            }
            let mut ids = Vec::with_capacity(rows.len());
            let mut blobs = Vec::with_capacity(rows.len());
            for (id, blob, version) in &rows {
                let plain = keys.open(table, prefix, *id, *version, blob)?;
                ids.push(*id);
                blobs.push(keys.seal(table, prefix, *id, plain.expose()));
            }
            sqlx::query(&format!(
                "UPDATE claimdesk.{table} t SET {prefix}_ciphertext = u.blob, {prefix}_key_version = $3
                 FROM unnest($1::uuid[], $2::bytea[]) AS u(id, blob) WHERE t.id = u.id"
            ))
            .bind(&ids)
            .bind(&blobs)
            .bind(keys.current)
            .execute(&mut *tx)
            .await?;
            tx.commit().await?;
            moved += rows.len() as u64;
        }
    }
    Ok(moved)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn seals_and_opens_only_in_place() {
        let keys = FieldKeys::generate();
        let row = Uuid::new_v4();
        let blob = keys.seal("member", "ssn", row, "123-45-6789");
        assert_eq!(blob[0], FORMAT);
        assert!(!blob.windows(11).any(|w| w == b"123-45-6789"));
        let opened = keys.open("member", "ssn", row, 1, &blob).unwrap();
        assert_eq!(opened.expose(), "123-45-6789");
        // Another row, column or key version: refused.
        assert!(keys
            .open("member", "ssn", Uuid::new_v4(), 1, &blob)
            .is_err());
        assert!(keys.open("provider", "tax_id", row, 1, &blob).is_err());
        assert!(matches!(
            keys.open("member", "ssn", row, 2, &blob),
            Err(FieldCryptError::UnknownKey(2))
        ));
        let mut flipped = blob.clone();
        *flipped.last_mut().unwrap() ^= 1;
        assert!(matches!(
            keys.open("member", "ssn", row, 1, &flipped),
            Err(FieldCryptError::Corrupt(1))
        ));
    }

    #[test]
    fn key_file_round_trips_privately_and_debug_hides_keys() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("keys.json");
        let mut keys = FieldKeys::generate();
        keys.add_version();
        keys.save(&path).unwrap();
        let loaded = FieldKeys::load(&path).unwrap();
        assert_eq!(loaded.current(), 2);
        let row = Uuid::new_v4();
        let blob = keys.seal("member", "ssn", row, "x");
        assert_eq!(
            loaded
                .open("member", "ssn", row, 2, &blob)
                .unwrap()
                .expose(),
            "x"
        );
        let debug = format!("{loaded:?}");
        assert!(
            debug.contains("current: 2") && !debug.contains('='),
            "{debug}"
        );
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            let mode = std::fs::metadata(&path).unwrap().permissions().mode();
            assert_eq!(mode & 0o777, 0o600);
        }
        std::fs::write(&path, "{not json").unwrap();
        assert!(matches!(
            FieldKeys::load(&path),
            Err(FieldCryptError::KeyFile { .. })
        ));
    }
}
