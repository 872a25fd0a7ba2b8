//! The cache's data key and the AES-256-GCM envelope around every PHI value.
//!
//! Envelope, version 1 (frozen once shipped; a change means version 2):
//!
//! ```text
//! [0x01] [key id: u32 BE] [nonce: 12 random bytes] [ciphertext + 16-byte tag]
//! ```
//!
//! The associated data binds a blob to the place it belongs ([`AadV1`]), so a
//! ciphertext copied to another row, table or key id fails to open instead of
//! showing one member's data on another's screen.

use std::fmt;
use std::sync::Arc;

use aes_gcm::aead::{Aead, KeyInit, Payload};
use aes_gcm::{Aes256Gcm, Nonce};
use rand::RngCore;
use uuid::Uuid;
use zeroize::Zeroize;

/// Envelope format version written today.
pub const ENVELOPE_V1: u8 = 1;
const HEADER: usize = 1 + 4 + 12;
const TAG: usize = 16;

/// Which data key sealed a blob. Rotation makes a new one.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct KeyId(pub u32);

/// A 256-bit cache data key. Masked in Debug, not Serialize, zeroized on drop.
///
/// The AES key schedule is expanded once per key and shared by clones: a
/// sync seals and a queue read opens one blob per row, and expanding the key
/// for each cost more than the cipher itself. The schedule is wiped on drop
/// too (the `zeroize` features of `aes` and `polyval`, see Cargo.toml).
#[derive(Clone)]
pub struct DataKey {
    id: KeyId,
    material: Arc<KeyMaterial>,
}

struct KeyMaterial {
    bytes: [u8; 32],
    cipher: Aes256Gcm,
}

impl Drop for KeyMaterial {
    fn drop(&mut self) {
        self.bytes.zeroize();
    }
}

impl fmt::Debug for DataKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "DataKey({}, ****)", self.id.0)
    }
}

impl DataKey {
    /// A fresh random key from the OS generator.
    pub fn generate(id: KeyId) -> Self {
        let mut bytes = [0u8; 32];
        rand::rngs::OsRng.fill_bytes(&mut bytes);
        let key = Self::from_bytes(id, bytes);
        bytes.zeroize();
        key
    }

    /// A key read back from the keychain.
    pub fn from_bytes(id: KeyId, bytes: [u8; 32]) -> Self {
        Self {
            id,
            material: Arc::new(KeyMaterial {
                cipher: Aes256Gcm::new((&bytes).into()),
                bytes,
            }),
        }
    }

    /// The key's id, written into every envelope it seals.
    pub fn id(&self) -> KeyId {
        self.id
    }

    /// The raw key, for the keychain only.
    pub(crate) fn bytes(&self) -> &[u8; 32] {
        &self.material.bytes
    }

    /// Seals `plaintext` for the row `row` of `table`.
    pub fn seal(&self, table: &str, row: Uuid, plaintext: &[u8]) -> Vec<u8> {
        let cipher = &self.material.cipher;
        // The thread's CSPRNG (ChaCha, seeded and reseeded from the OS): a
        // system call per row for the nonce cost more than the sealing.
        let mut nonce = [0u8; 12];
        rand::thread_rng().fill_bytes(&mut nonce);
        let aad = AadV1 {
            table,
            row,
            key: self.id,
        }
        .encode();
        let sealed = cipher
            .encrypt(
                Nonce::from_slice(&nonce),
                Payload {
                    msg: plaintext,
                    aad: &aad,
                },
            )
            .expect("AES-GCM encryption of an in-memory buffer cannot fail");
        let mut out = Vec::with_capacity(HEADER + sealed.len());
        out.push(ENVELOPE_V1);
        out.extend_from_slice(&self.id.0.to_be_bytes());
        out.extend_from_slice(&nonce);
        out.extend_from_slice(&sealed);
        out
    }

    /// Opens a blob sealed for the row `row` of `table`.
    pub fn open(&self, table: &str, row: Uuid, blob: &[u8]) -> Result<Vec<u8>, CryptoError> {
        let key = envelope_key(blob)?;
        if key != self.id {
            return Err(CryptoError::OtherKey(key));
        }
        let cipher = &self.material.cipher;
        let aad = AadV1 { table, row, key }.encode();
        cipher
            .decrypt(
                Nonce::from_slice(&blob[5..HEADER]),
                Payload {
                    msg: &blob[HEADER..],
                    aad: &aad,
                },
            )
            .map_err(|_| CryptoError::Tampered)
    }
}

/// Reads the key id of an envelope without opening it.
pub fn envelope_key(blob: &[u8]) -> Result<KeyId, CryptoError> {
    if blob.len() < HEADER + TAG {
        return Err(CryptoError::Malformed);
    }
    if blob[0] != ENVELOPE_V1 {
        return Err(CryptoError::UnknownVersion(blob[0]));
    }
    Ok(KeyId(u32::from_be_bytes([
        blob[1], blob[2], blob[3], blob[4],
    ])))
}

/// Associated data, version 1. Frozen: the bytes it encodes to are part of
/// every stored blob; changing them makes every cache unreadable.
struct AadV1<'a> {
    table: &'a str,
    row: Uuid,
    key: KeyId,
}

impl AadV1<'_> {
    fn encode(&self) -> Vec<u8> {
        let mut out = Vec::with_capacity(32 + self.table.len());
        out.extend_from_slice(b"claimdesk-cache\x01");
        out.extend_from_slice(&(self.table.len() as u16).to_be_bytes());
        out.extend_from_slice(self.table.as_bytes());
        out.extend_from_slice(self.row.as_bytes());
        out.extend_from_slice(&self.key.0.to_be_bytes());
        out
    }
}

/// Why a blob did not open.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum CryptoError {
    /// Shorter than any envelope.
    #[error("the encrypted value is truncated")]
    Malformed,
    /// A format this build does not know.
    #[error("the encrypted value has an unknown format version {0}")]
    UnknownVersion(u8),
    /// Sealed under a key we do not hold.
    #[error("the encrypted value was sealed with key {} which this cache does not hold", .0.0)]
    OtherKey(KeyId),
    /// Wrong key, wrong place, or altered bytes: GCM's tag did not verify.
    #[error("the encrypted value does not verify (wrong key, moved, or altered)")]
    Tampered,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_trip_and_format() {
        let key = DataKey::generate(KeyId(7));
        let row = Uuid::new_v4();
        let blob = key.seal("member", row, b"Jane Doe");
        assert_eq!(blob[0], ENVELOPE_V1);
        assert_eq!(envelope_key(&blob), Ok(KeyId(7)));
        assert_eq!(blob.len(), HEADER + 8 + TAG);
        assert_eq!(key.open("member", row, &blob).unwrap(), b"Jane Doe");
        // Random nonces: the same value seals differently each time.
        assert_ne!(key.seal("member", row, b"Jane Doe"), blob);
    }

    #[test]
    fn a_blob_opens_only_where_it_was_sealed() {
        let key = DataKey::generate(KeyId(1));
        let row = Uuid::new_v4();
        let blob = key.seal("member", row, b"1980-02-03");
        assert_eq!(key.open("claim", row, &blob), Err(CryptoError::Tampered));
        assert_eq!(
            key.open("member", Uuid::new_v4(), &blob),
            Err(CryptoError::Tampered)
        );
        let mut altered = blob.clone();
        *altered.last_mut().unwrap() ^= 1;
        assert_eq!(
            key.open("member", row, &altered),
            Err(CryptoError::Tampered)
        );
        // Same id, different key material: the wrong key.
        let impostor = DataKey::generate(KeyId(1));
        assert_eq!(
            impostor.open("member", row, &blob),
            Err(CryptoError::Tampered)
        );
        assert_eq!(
            DataKey::generate(KeyId(2)).open("member", row, &blob),
            Err(CryptoError::OtherKey(KeyId(1)))
        );
        assert_eq!(
            key.open("member", row, &blob[..10]),
            Err(CryptoError::Malformed)
        );
        let mut v9 = blob;
        v9[0] = 9;
        assert_eq!(
            key.open("member", row, &v9),
            Err(CryptoError::UnknownVersion(9))
        );
    }

    #[test]
    fn the_key_never_prints() {
        let key = DataKey::from_bytes(KeyId(3), [0xAB; 32]);
        let shown = format!("{key:?}");
        assert_eq!(shown, "DataKey(3, ****)");
        assert!(!shown.to_lowercase().contains("ab"));
    }

    #[test]
    fn the_aad_encoding_is_frozen() {
        // If this changes, every existing cache becomes unreadable.
        let aad = AadV1 {
            table: "claim",
            row: Uuid::from_u128(0x0102_0304_0506_0708_090a_0b0c_0d0e_0f10),
            key: KeyId(258),
        }
        .encode();
        let mut expected = b"claimdesk-cache\x01\x00\x05claim".to_vec();
        expected.extend_from_slice(&[1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16]);
        expected.extend_from_slice(&[0, 0, 1, 2]);
        assert_eq!(aad, expected);
    }
}
