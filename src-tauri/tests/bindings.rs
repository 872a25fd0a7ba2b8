//! The committed TypeScript bindings must match what the commands generate.
//! `CLAIMDESK_UPDATE_BINDINGS=1` rewrites them instead (see `scripts/bindings`).

use claimdesk_app::bindings;

fn generated() -> String {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("bindings.ts");
    bindings::export(&path).unwrap();
    std::fs::read_to_string(path).unwrap()
}

#[test]
fn committed_bindings_are_current() {
    let fresh = generated();
    let path = bindings::committed_path();
    if std::env::var_os("CLAIMDESK_UPDATE_BINDINGS").is_some() {
        std::fs::write(&path, &fresh).unwrap();
    }
    let committed = std::fs::read_to_string(&path).unwrap_or_default();
    if let Err(report) = bindings::check(&committed, &fresh) {
        panic!("{report}");
    }
}

#[test]
fn generation_is_deterministic() {
    assert_eq!(generated(), generated());
}

#[test]
fn check_rejects_stale_bindings() {
    let fresh = generated();
    assert!(bindings::check(&fresh, &fresh).is_ok());

    let renamed = fresh.replacen("server_version", "serverVersion", 1);
    assert_ne!(renamed, fresh, "the bindings should mention server_version");
    let report = bindings::check(&renamed, &fresh).unwrap_err();
    assert!(
        report.contains("serverVersion") && report.contains("stale at line"),
        "{report}"
    );

    let without_a_command: String = fresh
        .lines()
        .filter(|l| !l.contains("logout"))
        .collect::<Vec<_>>()
        .join("\n");
    assert!(bindings::check(&without_a_command, &fresh).is_err());
    assert!(bindings::check("", &fresh).is_err());
}
