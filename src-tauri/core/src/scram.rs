//! Client-side SCRAM-SHA-256 password verifiers (RFC 5802/7677), in the form
//! PostgreSQL stores in `pg_authid`.
//!
//! `CREATE ROLE ... PASSWORD 'SCRAM-SHA-256$...'` with a precomputed verifier
//! means the plaintext password never travels to the server, so it cannot
//! land in the server log or `pg_stat_statements`.

use base64::engine::general_purpose::STANDARD as B64;
use base64::Engine;
use hmac::{Hmac, Mac};
use rand::RngCore;
use sha2::{Digest, Sha256};

/// PostgreSQL's default iteration count (`scram_iterations`).
pub const ITERATIONS: u32 = 4096;

/// Builds a verifier with a fresh random 16-byte salt.
pub fn verifier(password: &str) -> String {
    let mut salt = [0u8; 16];
    rand::thread_rng().fill_bytes(&mut salt);
    verifier_with(password, &salt, ITERATIONS)
}

/// RFC 5802's SaltedPassword: PBKDF2 with HMAC-SHA-256.
pub fn salted_password(password: &str, salt: &[u8], iterations: u32) -> [u8; 32] {
    let mut salted = [0u8; 32];
    pbkdf2::pbkdf2::<Hmac<Sha256>>(password.as_bytes(), salt, iterations, &mut salted)
        .expect("HMAC accepts keys of any length");
    salted
}

/// Builds a verifier from a given salt; deterministic, for tests.
pub fn verifier_with(password: &str, salt: &[u8], iterations: u32) -> String {
    let salted = salted_password(password, salt, iterations);
    let hmac = |key: &[u8], msg: &[u8]| {
        let mut mac = Hmac::<Sha256>::new_from_slice(key).expect("HMAC accepts keys of any length");
        mac.update(msg);
        mac.finalize().into_bytes()
    };
    let client_key = hmac(&salted, b"Client Key");
    let stored_key = Sha256::digest(client_key);
    let server_key = hmac(&salted, b"Server Key");
    format!(
        "SCRAM-SHA-256${iterations}:{}${}:{}",
        B64.encode(salt),
        B64.encode(stored_key),
        B64.encode(server_key)
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The shape PostgreSQL parses: method, iterations:salt, storedkey:serverkey.
    #[test]
    fn verifier_has_postgres_shape() {
        let v = verifier_with("pencil", b"0123456789abcdef", 4096);
        let (method, rest) = v.split_once('$').unwrap();
        assert_eq!(method, "SCRAM-SHA-256");
        let (params, keys) = rest.split_once('$').unwrap();
        assert_eq!(params, format!("4096:{}", B64.encode(b"0123456789abcdef")));
        let (stored, server) = keys.split_once(':').unwrap();
        assert_eq!(B64.decode(stored).unwrap().len(), 32);
        assert_eq!(B64.decode(server).unwrap().len(), 32);
    }

    #[test]
    fn salts_differ_between_calls() {
        assert_ne!(verifier("pencil"), verifier("pencil"));
    }
}
