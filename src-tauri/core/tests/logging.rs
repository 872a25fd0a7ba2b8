//! Log files: JSON lines in the log directory, with secrets masked.
//! Its own test binary, because the global subscriber can be set only once.

use claimdesk_core::{logging, Secret};

#[test]
fn writes_json_lines_to_the_log_dir_and_masks_secrets() {
    let dir = tempfile::tempdir().unwrap();
    let guard = logging::init(dir.path(), "test");
    let password = Secret::new("pw-should-never-appear".to_string());
    tracing::info!(user = "ada", ?password, "login attempt");
    drop(guard); // flushes the background writer

    let files: Vec<_> = std::fs::read_dir(dir.path())
        .unwrap()
        .map(|e| e.unwrap().path())
        .collect();
    assert_eq!(files.len(), 1, "{files:?}");
    let name = files[0].file_name().unwrap().to_string_lossy().to_string();
    assert!(
        name.starts_with("claimdesk-test") && name.ends_with(".log"),
        "{name}"
    );

    let text = std::fs::read_to_string(&files[0]).unwrap();
    let line = text
        .lines()
        .find(|l| l.contains("login attempt"))
        .expect("the event was logged");
    let json: serde_json::Value = serde_json::from_str(line).unwrap();
    assert_eq!(json["fields"]["user"], "ada");
    assert_eq!(json["fields"]["password"], "***");
    assert!(!text.contains("pw-should-never-appear"));
}
