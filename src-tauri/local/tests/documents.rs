//! Document files in the encrypted cache: the hash check on the way in and
//! out, no plaintext on disk, least-recently-used eviction under a cap.
//! Real SQLite files, the real keychain.

mod support;

use chrono::{Duration, TimeZone, Utc};
use claimdesk_local::documents::{self, DocumentError};
use sha2::{Digest, Sha256};
use uuid::Uuid;

fn file(marker: &str, size: usize) -> (Vec<u8>, [u8; 32]) {
    let mut bytes = format!("%PDF-1.4 {marker} ").into_bytes();
    bytes.resize(size, b'.');
    let hash = Sha256::digest(&bytes).into();
    (bytes, hash)
}

#[tokio::test]
async fn files_are_checked_sealed_and_evicted_least_recently_used_first() {
    let dir = tempfile::tempdir().unwrap();
    let kc = support::keychain().await;
    let owner = support::owner("dora");
    let (cache, _) = support::open(dir.path(), &owner, &kc).await;
    let t0 = Utc.with_ymd_and_hms(2026, 12, 1, 9, 0, 0).unwrap();

    // A file that does not hash to its address is refused, nothing stored.
    let (bytes, hash) = file("MEMBER-RECORD-Okafor", 4_000);
    let mut wrong = hash;
    wrong[0] ^= 1;
    let a = Uuid::now_v7();
    assert!(matches!(
        documents::store(&cache, a, wrong, &bytes, t0).await,
        Err(DocumentError::HashMismatch)
    ));
    assert_eq!(documents::stored_bytes(&cache).await.unwrap(), 0);

    documents::store(&cache, a, hash, &bytes, t0).await.unwrap();
    let opened = documents::open(&cache, a, t0).await.unwrap().unwrap();
    assert_eq!(opened.as_slice(), bytes.as_slice());
    assert!(documents::open(&cache, Uuid::now_v7(), t0)
        .await
        .unwrap()
        .is_none());
    // Sealed: the file's words are nowhere on disk.
    cache.checkpoint().await.unwrap();
    assert_eq!(
        support::found_on_disk(dir.path(), "MEMBER-RECORD-Okafor"),
        None
    );

    // Three more files; `a` opened most recently, so `b` and `c` go first.
    let (b_bytes, b_hash) = file("b", 4_000);
    let (c_bytes, c_hash) = file("c", 4_000);
    let (d_bytes, d_hash) = file("d", 4_000);
    let (b, c, d) = (Uuid::now_v7(), Uuid::now_v7(), Uuid::now_v7());
    documents::store(&cache, b, b_hash, &b_bytes, t0 + Duration::minutes(1))
        .await
        .unwrap();
    documents::store(&cache, c, c_hash, &c_bytes, t0 + Duration::minutes(2))
        .await
        .unwrap();
    documents::store(&cache, d, d_hash, &d_bytes, t0 + Duration::minutes(3))
        .await
        .unwrap();
    documents::open(&cache, a, t0 + Duration::minutes(4))
        .await
        .unwrap()
        .unwrap();
    assert_eq!(documents::stored_bytes(&cache).await.unwrap(), 16_000);
    assert_eq!(documents::evict_to(&cache, 9_000).await.unwrap(), 2);
    for (id, kept) in [(a, true), (b, false), (c, false), (d, true)] {
        assert_eq!(
            documents::open(&cache, id, t0 + Duration::minutes(5))
                .await
                .unwrap()
                .is_some(),
            kept
        );
    }

    // A stored copy altered on disk does not open as the document.
    let (e_bytes, e_hash) = file("e", 100);
    let e = Uuid::now_v7();
    documents::store(&cache, e, e_hash, &e_bytes, t0)
        .await
        .unwrap();
    let mut other = e_hash;
    other[31] ^= 1;
    {
        // From outside the crate, as a tamperer would.
        use sqlx::ConnectOptions;
        let mut conn = sqlx::sqlite::SqliteConnectOptions::new()
            .filename(cache.path())
            .connect()
            .await
            .unwrap();
        sqlx::query("UPDATE document_blob SET sha256 = ? WHERE id = ?")
            .bind(other.as_slice())
            .bind(e.as_bytes().as_slice())
            .execute(&mut conn)
            .await
            .unwrap();
    }
    assert!(matches!(
        documents::open(&cache, e, t0).await,
        Err(DocumentError::HashMismatch)
    ));
    cache.wipe(&owner, &kc).await.unwrap();
}
