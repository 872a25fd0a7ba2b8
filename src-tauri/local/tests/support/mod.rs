//! Shared by the local crate's integration tests: the core's per-test
//! database, plus a cache in a temporary folder with its key in the real
//! keychain.
#![allow(dead_code)]

#[path = "../../../core/tests/common/mod.rs"]
pub mod common;

use claimdesk_local::cache::{Cache, CacheOwner, Opened};
use claimdesk_local::keychain::Keychain;
use common::TestDb;

/// The real platform keychain (scripts/test runs a Secret Service).
pub async fn keychain() -> Keychain {
    Keychain::platform()
        .await
        .expect("scripts/test runs gnome-keyring on a private session bus")
}

/// A unique owner, so tests never share a keychain entry.
pub fn owner(login: &str) -> CacheOwner {
    CacheOwner {
        login: login.to_string(),
        server: format!("127.0.0.1:5432/{}", uuid::Uuid::new_v4().simple()),
    }
}

/// Opens the cache of `owner` in `dir`.
pub async fn open(dir: &std::path::Path, owner: &CacheOwner, kc: &Keychain) -> (Cache, Opened) {
    Cache::open(dir, owner, kc).await.unwrap()
}

/// Runs a read-only query on the cache file through a connection of its
/// own, as a look from outside the crate's API (WAL lets it read alongside).
pub async fn scalar_in_file<T>(cache: &Cache, sql: &str) -> T
where
    T: for<'r> sqlx::Decode<'r, sqlx::Sqlite> + sqlx::Type<sqlx::Sqlite> + Send + Unpin,
{
    use sqlx::ConnectOptions;
    let mut conn = sqlx::sqlite::SqliteConnectOptions::new()
        .filename(cache.path())
        .read_only(true)
        .connect()
        .await
        .unwrap();
    let value = sqlx::query_scalar(sql).fetch_one(&mut conn).await.unwrap();
    drop(conn);
    value
}

/// True if `needle` occurs in any file of `dir` (the cache, its WAL, …).
pub fn found_on_disk(dir: &std::path::Path, needle: &str) -> Option<String> {
    for entry in std::fs::read_dir(dir).unwrap() {
        let path = entry.unwrap().path();
        // The WAL and shared-memory files come and go while SQLite works.
        let Ok(bytes) = std::fs::read(&path) else {
            continue;
        };
        if bytes.windows(needle.len()).any(|w| w == needle.as_bytes()) {
            return Some(path.display().to_string());
        }
    }
    None
}
pub mod proxy;

// Not every test file seeds.
#[allow(unused_imports)]
pub use common::seeded;

/// One person at their desk: logged in to a seeded database as `role`, with
/// their cache open in a temporary folder and its key in the real keychain.
pub struct Desk {
    /// Their central connection pool.
    pub central: sqlx::PgPool,
    /// Their login name.
    pub login: String,
    /// The folder the cache lives in (removed when dropped).
    pub dir: tempfile::TempDir,
    /// The keychain holding the cache key.
    pub kc: Keychain,
    /// Whose cache it is.
    pub owner: CacheOwner,
    /// The open cache.
    pub cache: Cache,
}

/// Sits a new `role` login down at a desk (see [`Desk`]).
pub async fn desk(db: &mut TestDb, role: &str) -> Desk {
    let central = db.login(role).await;
    let login: String = sqlx::query_scalar("SELECT current_user::text")
        .fetch_one(&central)
        .await
        .unwrap();
    let dir = tempfile::tempdir().unwrap();
    let kc = keychain().await;
    let owner = owner(&login);
    let (cache, _) = open(dir.path(), &owner, &kc).await;
    Desk {
        central,
        login,
        dir,
        kc,
        owner,
        cache,
    }
}
