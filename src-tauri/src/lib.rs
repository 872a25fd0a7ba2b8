//! The ClaimDesk desktop app: window set-up, state and thin commands over
//! `claimdesk-core`.

mod autolock;
pub mod bindings;
mod commands;
mod credentialing;
mod doc_scheme;
mod error;
mod render;
mod state;
mod supervision;

use claimdesk_core::paths::AppDirs;
use claimdesk_core::{logging, settings};
pub use error::CommandError;
use tauri_specta::{collect_commands, Builder};

/// Every command the UI may call. The TypeScript bindings are generated from
/// this list, so a command missing here cannot be called at all.
pub fn specta_builder() -> Builder<tauri::Wry> {
    Builder::<tauri::Wry>::new().commands(collect_commands![
        commands::app_info,
        commands::ui_ready,
        commands::login,
        commands::connection_status,
        commands::local_status,
        commands::logout,
        autolock::touch_session,
        autolock::lock_session,
        autolock::unlock_session,
        commands::queue_page,
        commands::search_queue,
        commands::open_claim,
        commands::view_document,
        commands::attach_document,
        commands::export_document,
        commands::get_next,
        commands::release_claim,
        commands::take_claim,
        commands::renew_lease,
        commands::lift_pend,
        commands::code_lists,
        commands::decide,
        commands::conflicts,
        commands::dismiss_conflict,
        commands::add_note,
        credentialing::search_providers,
        credentialing::provider_profile,
        credentialing::credentialing_dashboard,
        credentialing::verify_credential,
        credentialing::compare_with_registry,
        credentialing::search_registry,
        credentialing::import_leie,
        supervision::audit_page,
        supervision::audit_entry,
        supervision::verify_audit_chain,
        supervision::find_member,
        supervision::resolve_audit_subjects,
        supervision::member_access_report,
        supervision::export_audit,
        supervision::team_dashboard,
        supervision::team_leases,
        supervision::team_adjudicators,
        supervision::reassign_lease,
        supervision::routed_claims,
        supervision::decide_routed,
        supervision::intake_batches,
        supervision::intake_batch,
        supervision::intake_answer,
    ])
}

/// Starts the app. Failures before the window exists are logged and end the
/// process with a non-zero status rather than a panic.
pub fn run() {
    let started = std::time::Instant::now();
    let env = |key: &str| std::env::var(key).ok();
    let dirs = AppDirs::resolve(env);
    let dmabuf_off = render::configure();
    let _log = logging::init(&dirs.logs, "app");
    logging::install_panic_hook();
    if dmabuf_off {
        tracing::info!("no GPU render node: WebKit's DMA-BUF renderer is off");
    }
    let settings = settings::load(&dirs.config, env);
    match &settings {
        Ok(loaded) => tracing::info!(
            file = %loaded.file.display(),
            found = loaded.file_found,
            overrides = ?loaded.overridden_by,
            "settings loaded"
        ),
        Err(error) => tracing::error!(%error, "settings invalid"),
    }

    let builder = specta_builder();
    let result = tauri::Builder::default()
        .invoke_handler(builder.invoke_handler())
        .register_asynchronous_uri_scheme_protocol(doc_scheme::SCHEME, doc_scheme::handle)
        .manage(state::AppState::new(settings, dirs, started))
        .run(tauri::generate_context!());
    if let Err(error) = result {
        tracing::error!(%error, "the app failed to start");
        std::process::exit(1);
    }
}
