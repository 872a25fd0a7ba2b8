#![warn(missing_docs)]
//! ClaimDesk's core: everything the product knows, with no Tauri in it.
//!
//! The desktop app (`src-tauri`) and the admin CLI (`claimdesk-admin`) are thin
//! shells over this crate, so it can be tested and benchmarked without a window.

pub mod aging;
pub mod audit;
pub mod audit_trail;
pub mod autolock;
pub mod central;
pub mod credentialing;
pub mod dashboard;
pub mod decision;
pub mod document_file;
pub mod domain;
pub mod engine;
pub mod error;
pub mod feed;
pub mod fieldcrypt;
pub mod intake;
pub mod intake_batches;
pub mod intake_folder;
pub mod leie;
pub mod logging;
pub mod nppes;
pub mod paths;
pub mod payments;
pub mod priority;
pub mod queue;
pub mod sample_docs;
pub mod scram;
pub mod secret;
pub mod seed;
pub mod settings;
pub mod team;
pub mod users;
pub mod x12;

pub use error::ErrorCode;
pub use secret::Secret;
