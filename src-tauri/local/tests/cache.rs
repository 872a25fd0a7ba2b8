//! Opening the encrypted cache: intact, missing key, changed key, corrupt,
//! foreign, and key rotation. Real SQLite files, the real keychain.

mod support;

use claimdesk_local::cache::{Cache, Opened, RebuildReason};
use claimdesk_local::keychain::KeyRing;

async fn store(kc: &claimdesk_local::keychain::Keychain, account: String, ring: KeyRing) {
    kc.store(&account, &ring).await.unwrap();
}

async fn delete(kc: &claimdesk_local::keychain::Keychain, account: String) {
    kc.delete(&account).await.unwrap();
}

#[tokio::test]
async fn a_cache_reopens_intact_and_is_rebuilt_when_its_key_is_gone_or_changed() {
    let dir = tempfile::tempdir().unwrap();
    let kc = support::keychain().await;
    let owner = support::owner("alice");

    let (cache, opened) = support::open(dir.path(), &owner, &kc).await;
    assert_eq!(opened, Opened::Created);
    let file = cache.path().to_path_buf();
    assert!(file.starts_with(dir.path()));
    assert!(
        !file.to_string_lossy().contains("alice"),
        "the file name names nobody"
    );
    cache.close().await;

    let (cache, opened) = support::open(dir.path(), &owner, &kc).await;
    assert_eq!(opened, Opened::Existing);
    cache.close().await;

    // Someone replaced the key in the keychain.
    store(&kc, owner.account(), KeyRing::fresh()).await;
    let (cache, opened) = support::open(dir.path(), &owner, &kc).await;
    assert_eq!(opened, Opened::Rebuilt(RebuildReason::KeyChanged));
    cache.close().await;
    let (cache, opened) = support::open(dir.path(), &owner, &kc).await;
    assert_eq!(opened, Opened::Existing, "the rebuilt cache is usable");
    cache.close().await;

    // The key was removed from the keychain.
    delete(&kc, owner.account()).await;
    let (cache, opened) = support::open(dir.path(), &owner, &kc).await;
    assert_eq!(opened, Opened::Rebuilt(RebuildReason::KeyMissing));
    cache.wipe(&owner, &kc).await.unwrap();
    assert!(!file.exists(), "logout with wipe removes the file");
}

#[tokio::test]
async fn a_truncated_or_foreign_file_is_detected_and_rebuilt() {
    let dir = tempfile::tempdir().unwrap();
    let kc = support::keychain().await;
    let owner = support::owner("bob");
    let (cache, _) = support::open(dir.path(), &owner, &kc).await;
    let file = cache.path().to_path_buf();
    cache.close().await;

    // Cut short (a full disk, a crash while copying a profile).
    let bytes = std::fs::read(&file).unwrap();
    assert!(
        bytes.len() > 8192,
        "close checkpoints the WAL into the file"
    );
    std::fs::write(&file, &bytes[..bytes.len() / 2]).unwrap();
    let (cache, opened) = support::open(dir.path(), &owner, &kc).await;
    assert_eq!(opened, Opened::Rebuilt(RebuildReason::Corrupt));
    cache.close().await;

    // Cut inside the header.
    let bytes = std::fs::read(&file).unwrap();
    std::fs::write(&file, &bytes[..50]).unwrap();
    let (cache, opened) = support::open(dir.path(), &owner, &kc).await;
    assert_eq!(opened, Opened::Rebuilt(RebuildReason::Corrupt));
    cache.close().await;

    // Not SQLite at all.
    std::fs::write(&file, b"%PDF-1.7 this is somebody's document").unwrap();
    let (cache, opened) = support::open(dir.path(), &owner, &kc).await;
    assert_eq!(opened, Opened::Rebuilt(RebuildReason::Corrupt));
    cache.close().await;

    // Another user's cache copied over this one: never read as ours.
    let other = support::owner("carol");
    let (theirs, _) = support::open(dir.path(), &other, &kc).await;
    let their_file = theirs.path().to_path_buf();
    theirs.close().await;
    std::fs::copy(&their_file, &file).unwrap();
    let (cache, opened) = support::open(dir.path(), &owner, &kc).await;
    assert_eq!(opened, Opened::Rebuilt(RebuildReason::Foreign));
    cache.wipe(&owner, &kc).await.unwrap();
    let (theirs, opened) = support::open(dir.path(), &other, &kc).await;
    assert_eq!(
        opened,
        Opened::Existing,
        "the other user's cache is untouched"
    );
    theirs.wipe(&other, &kc).await.unwrap();
}

#[tokio::test]
async fn a_damaged_keychain_entry_is_an_error_not_a_silent_new_key() {
    let dir = tempfile::tempdir().unwrap();
    let kc = support::keychain().await;
    let owner = support::owner("dave");
    let (cache, _) = support::open(dir.path(), &owner, &kc).await;
    cache.close().await;
    // A value we did not write, under our entry.
    let account = owner.account();
    tokio::task::spawn_blocking(move || {
        // Written through the Secret Service directly, as another program might.
        use keyring_core::api::CredentialStoreApi;
        zbus_secret_service_keyring_store::Store::new()
            .unwrap()
            .build(claimdesk_local::keychain::SERVICE, &account, None)
            .unwrap()
            .set_secret(b"something else")
            .unwrap();
    })
    .await
    .unwrap();
    let err = Cache::open(dir.path(), &owner, &kc).await.unwrap_err();
    assert_eq!(err.code(), claimdesk_core::ErrorCode::KeychainFailed);
    delete(&kc, owner.account()).await;
}
