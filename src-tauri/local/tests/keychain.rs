//! The data key in the real OS keychain (Secret Service under D-Bus here;
//! scripts/test starts gnome-keyring unlocked in a private session bus).

use claimdesk_local::keychain::{KeyOrigin, Keychain};

#[tokio::test]
async fn the_key_survives_in_the_real_keychain_and_is_removed_on_wipe() {
    let account = format!("test-{}@127.0.0.1:5432/claimdesk", uuid::Uuid::new_v4());
    let kc = Keychain::platform()
        .await
        .expect("scripts/test runs a Secret Service");
    let (made, origin) = kc.load_or_create(&account).await.unwrap();
    assert_eq!(origin, KeyOrigin::Created);
    // A new connection to the keychain (as after a restart) reads it back.
    let again = Keychain::platform().await.unwrap();
    let (found, origin) = again.load_or_create(&account).await.unwrap();
    assert_eq!(origin, KeyOrigin::Found);
    let row = uuid::Uuid::new_v4();
    let blob = made.current().seal("member", row, b"x");
    assert_eq!(found.current().open("member", row, &blob).unwrap(), b"x");
    again.delete(&account).await.unwrap();
    assert!(
        kc.load(&account).await.unwrap().is_none(),
        "deleted for good"
    );
    // Deleting what is not there is not an error (a second wipe).
    kc.delete(&account).await.unwrap();
}
