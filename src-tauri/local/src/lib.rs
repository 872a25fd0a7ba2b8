//! ClaimDesk's local side, with no Tauri in it: the encrypted SQLite cache,
//! its data key in the OS keychain, and sync with the central database.

pub mod cache;
pub mod claim_view;
pub mod codes;
pub mod credentialing;
pub mod crypto;
pub mod desk;
pub mod detail;
pub mod documents;
pub mod engine;
pub mod keychain;
pub mod outbox;
pub mod pricing;
pub mod queue_view;
pub mod reference;
pub mod search;
pub mod session;
pub mod sync;
