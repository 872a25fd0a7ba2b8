//! With no session bus there is no keychain: a clear error, never a silent
//! in-memory store. Its own test binary, because it changes the environment.

use claimdesk_core::ErrorCode;
use claimdesk_local::keychain::Keychain;

#[tokio::test]
async fn no_session_bus_is_reported_as_no_keychain() {
    let dir = tempfile::tempdir().unwrap();
    // SAFETY: the only test in this process; nothing else reads the environment.
    unsafe {
        std::env::set_var(
            "DBUS_SESSION_BUS_ADDRESS",
            format!("unix:path={}/no-bus", dir.path().display()),
        );
    }
    let err = match Keychain::platform().await {
        Err(e) => e,
        Ok(kc) => kc
            .load("anyone@nowhere:5432/claimdesk")
            .await
            .expect_err("there is no keychain to use"),
    };
    assert_eq!(err.code(), ErrorCode::KeychainUnavailable, "{err}");
}
