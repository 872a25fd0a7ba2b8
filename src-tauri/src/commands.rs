//! Tauri commands: parse input, call the core, map errors. Nothing else.

use chrono::Utc;
use claimdesk_core::central::{
    CentralError, CentralSession, ConnectionStatus, Credentials, ErrorMapper,
};
use claimdesk_core::decision::{DecisionInput, DecisionLine};
use claimdesk_core::document_file::Format;
use claimdesk_core::settings::LoadedSettings;
use claimdesk_core::{ErrorCode, Secret};
use claimdesk_local::cache::{Cache, CacheOwner, Opened, RebuildReason};
use claimdesk_local::claim_view::{ClaimView, ViewSource};
use claimdesk_local::codes::{self, CodeLists};
use claimdesk_local::desk::{self, DeskError};
use claimdesk_local::detail;
use claimdesk_local::documents;
use claimdesk_local::engine::SyncStatus;
use claimdesk_local::outbox;
use claimdesk_local::queue_view::{self, QueuePage, QueueView};
use claimdesk_local::session::LocalSession;
use serde::{Deserialize, Serialize};
use tauri::State;
use uuid::Uuid;

use crate::error::CommandError;
use crate::state::AppState;

/// What the login screen needs before anyone logs in.
#[derive(Debug, Clone, Serialize, specta::Type)]
pub struct AppInfo {
    /// The app's version.
    pub version: String,
    /// The central settings in effect, when they loaded.
    pub settings: Option<LoadedSettings>,
    /// Why the settings did not load, when they did not.
    pub settings_error: Option<CommandError>,
    /// Where the log files are, for support calls.
    pub log_dir: String,
}

/// Version, settings and log location for the login screen.
#[tauri::command]
#[specta::specta]
pub fn app_info(state: State<'_, AppState>) -> AppInfo {
    let (settings, settings_error) = match &state.settings {
        Ok(loaded) => (Some(loaded.clone()), None),
        Err(error) => (None, Some(error.into())),
    };
    AppInfo {
        version: env!("CARGO_PKG_VERSION").to_string(),
        settings,
        settings_error,
        log_dir: state.dirs.logs.display().to_string(),
    }
}

/// The UI says a screen is interactive (`login` at start, `queue` once its
/// first rows show). Logs the time since start; for the start-up benchmark,
/// the app exits when `CLAIMDESK_EXIT_WHEN_READY` names that screen, so a
/// harness can time launch to interactive from outside.
#[tauri::command]
#[specta::specta]
pub fn ui_ready(app: tauri::AppHandle, state: State<'_, AppState>, screen: ReadyScreen) {
    let ms = state.started.elapsed().as_millis();
    tracing::info!(?screen, ms, "screen interactive");
    let name = match screen {
        ReadyScreen::Login => "login",
        ReadyScreen::Queue => "queue",
    };
    if std::env::var("CLAIMDESK_EXIT_WHEN_READY").is_ok_and(|s| s == name) {
        app.exit(0);
    }
}

/// Screens whose readiness the start-up figures time.
#[derive(Debug, Clone, Copy, Deserialize, specta::Type)]
#[serde(rename_all = "snake_case")]
pub enum ReadyScreen {
    /// The login form can be typed in.
    Login,
    /// The queue shows its first rows.
    Queue,
}

/// Logs in to the central database as the person's own role.
#[tauri::command]
#[specta::specta]
pub async fn login(
    state: State<'_, AppState>,
    username: String,
    password: Secret<String>,
) -> Result<ConnectionStatus, CommandError> {
    let loaded = state.settings.as_ref()?;
    let settings = &loaded.central;
    let username = username.trim().to_string();
    if username.is_empty() || password.expose().is_empty() {
        return Err(CommandError::new(
            ErrorCode::InvalidInput,
            "Enter your user name and password.",
        ));
    }
    let lock = crate::autolock::prepare(loaded.lock_after_secs, &password);
    let began = std::time::Instant::now();
    let session = CentralSession::connect(settings, &Credentials { username, password }).await?;
    let status = session.status(Utc::now()).await?;
    let central_ms = began.elapsed().as_millis();
    // The local side comes up with the login, or the login fails: without
    // the keychain there is no cache, and no silent downgrade.
    let owner = CacheOwner {
        login: session.username().to_string(),
        server: format!("{}:{}/{}", settings.host, settings.port, settings.database),
    };
    let started = LocalSession::start(
        &state.dirs.data,
        owner,
        session.pool().clone(),
        CentralError::code_mapper(settings),
        loaded.documents.cap_bytes(),
    )
    .await;
    let (local, opened) = match started {
        Ok(started) => started,
        Err(error) => {
            session.close().await;
            return Err(error.into());
        }
    };
    if let Opened::Rebuilt(reason) = opened {
        tracing::warn!(?reason, "local cache rebuilt at login");
        *state.cache_notice.lock().await = Some(reason);
    }
    if let Some(previous) = state.local.lock().await.replace(local) {
        previous.end(false).await?;
    }
    if let Some(previous) = state.session.lock().await.replace(session) {
        previous.close().await;
    }
    crate::autolock::start(&state, lock);
    // Where a sign-in's time goes (BENCHMARKS.md, start-up).
    tracing::info!(
        central_ms,
        total_ms = began.elapsed().as_millis(),
        "signed in"
    );
    Ok(status)
}

/// The local side's state for the status bar: sync, outbox, and why the
/// cache was rebuilt at this login (reported once).
#[derive(Debug, Clone, Serialize, specta::Type)]
pub struct LocalStatus {
    /// Sync progress, connectivity and outbox depth.
    pub sync: SyncStatus,
    /// Set once after a login that had to rebuild the cache.
    pub cache_rebuilt: Option<RebuildReason>,
}

/// Sync and outbox state; the UI polls it while logged in.
#[tauri::command]
#[specta::specta]
pub async fn local_status(state: State<'_, AppState>) -> Result<LocalStatus, CommandError> {
    let sync = state
        .local
        .lock()
        .await
        .as_ref()
        .map(|l| l.status().borrow().clone())
        .ok_or_else(not_logged_in)?;
    let cache_rebuilt = state.cache_notice.lock().await.take();
    Ok(LocalStatus {
        sync,
        cache_rebuilt,
    })
}

/// The live connection status; the UI polls it while logged in.
#[tauri::command]
#[specta::specta]
pub async fn connection_status(
    state: State<'_, AppState>,
) -> Result<ConnectionStatus, CommandError> {
    let session = state
        .session
        .lock()
        .await
        .clone()
        .ok_or_else(not_logged_in)?;
    Ok(session.status(Utc::now()).await?)
}

/// Ends the session and closes its connections. With `wipe`, this
/// computer's encrypted copy and its key are removed too.
#[tauri::command]
#[specta::specta]
pub async fn logout(state: State<'_, AppState>, wipe: bool) -> Result<(), CommandError> {
    end_session(&state, wipe).await
}

/// Signs out: the lock, the viewable documents, the local side, central.
pub(crate) async fn end_session(state: &AppState, wipe: bool) -> Result<(), CommandError> {
    crate::autolock::stop(state);
    state.viewable.lock().await.clear();
    let local = state.local.lock().await.take();
    if let Some(local) = local {
        local.end(wipe).await?;
    }
    let session = state.session.lock().await.take();
    if let Some(session) = session {
        tracing::info!(user = %session.username(), "logged out");
        session.close().await;
    }
    Ok(())
}

pub(crate) fn not_logged_in() -> CommandError {
    CommandError::new(ErrorCode::NotLoggedIn, "You are not logged in.")
}

/// What a claim command works with, cloned out of the locks so a slow
/// server never holds them.
pub(crate) struct Desk {
    pub(crate) central: CentralSession,
    pub(crate) cache: Cache,
    pub(crate) settings: claimdesk_core::settings::CentralSettings,
    pub(crate) map_err: ErrorMapper,
}

impl Desk {
    fn error(&self, e: DeskError) -> CommandError {
        match e {
            DeskError::Central(e) => self.central_error(e),
            DeskError::Open(e) => e.into(),
        }
    }

    /// A central failure in the words and code of this session's settings.
    pub(crate) fn central_error(&self, e: sqlx::Error) -> CommandError {
        CentralError::from_sqlx(e, &self.settings).into()
    }

    /// Runs `work` on one of the session's central connections, its
    /// failures in this session's words: the shape of every command that
    /// reads or calls central live.
    pub(crate) async fn on_central<T>(
        &self,
        work: impl AsyncFnOnce(&mut sqlx::PgConnection) -> Result<T, sqlx::Error>,
    ) -> Result<T, CommandError> {
        let mut conn = self.connection().await?;
        work(&mut conn).await.map_err(|e| self.central_error(e))
    }

    /// A connection of the session's pool, for reads and calls that go to
    /// central live.
    pub(crate) async fn connection(
        &self,
    ) -> Result<sqlx::pool::PoolConnection<sqlx::Postgres>, CommandError> {
        self.central
            .pool()
            .acquire()
            .await
            .map_err(|e| self.central_error(e))
    }
}

/// A file the UI sent as base64.
pub(crate) fn decode_file(content: &str) -> Result<Vec<u8>, CommandError> {
    use base64::Engine as _;
    base64::engine::general_purpose::STANDARD
        .decode(content.as_bytes())
        .map_err(|_| CommandError::new(ErrorCode::InvalidInput, "The file did not arrive whole."))
}

pub(crate) async fn desk(state: &State<'_, AppState>) -> Result<Desk, CommandError> {
    let settings = state.settings.as_ref()?.central.clone();
    let central = state
        .session
        .lock()
        .await
        .clone()
        .ok_or_else(not_logged_in)?;
    let cache = local_cache(state).await?;
    Ok(Desk {
        central,
        cache,
        map_err: CentralError::code_mapper(&settings),
        settings,
    })
}

pub(crate) async fn local_cache(state: &State<'_, AppState>) -> Result<Cache, CommandError> {
    crate::autolock::ensure_unlocked(state).await?;
    state
        .local
        .lock()
        .await
        .as_ref()
        .map(|l| l.cache().clone())
        .ok_or_else(not_logged_in)
}

/// Wakes the sync engine after an outbox entry was written.
pub(crate) async fn kick(state: &State<'_, AppState>) {
    if let Some(local) = state.local.lock().await.as_ref() {
        local.kick();
    }
}

fn typed(opened: &detail::OpenedClaim) -> Result<ClaimView, CommandError> {
    ClaimView::from_opened(opened).map_err(|_| {
        CommandError::new(
            ErrorCode::CacheFailed,
            "This claim's stored copy could not be read. Reconnect to fetch it again.",
        )
    })
}

/// A page of the cached queue in one of its saved views.
#[tauri::command]
#[specta::specta]
pub async fn queue_page(
    state: State<'_, AppState>,
    view: QueueView,
    offset: u32,
    limit: u32,
) -> Result<QueuePage, CommandError> {
    let cache = local_cache(&state).await?;
    let limit = limit.clamp(1, 500);
    Ok(queue_view::page(&cache, view, offset, limit, Utc::now().date_naive()).await?)
}

/// Claims of the cached queue whose number, member name or patient account
/// number contain every word typed, in queue order (at most 50). Searched in
/// memory: the names exist on disk only as ciphertext.
#[tauri::command]
#[specta::specta]
pub async fn search_queue(
    state: State<'_, AppState>,
    query: String,
) -> Result<Vec<queue_view::QueueRow>, CommandError> {
    crate::autolock::ensure_unlocked(&state).await?;
    let (cache, index, synced_at) = match state.local.lock().await.as_ref() {
        Some(l) => (
            l.cache().clone(),
            l.queue_index(),
            l.status().borrow().queue_synced_at,
        ),
        None => return Err(not_logged_in()),
    };
    if query.trim().chars().count() < 2 {
        return Ok(Vec::new());
    }
    let ids = index.search(&cache, synced_at, &query, 50).await?;
    Ok(queue_view::rows_for(&cache, &ids, Utc::now().date_naive()).await?)
}

/// Opens a claim in full (from central, else this computer's copy) and
/// records the PHI view.
#[tauri::command]
#[specta::specta]
pub async fn open_claim(state: State<'_, AppState>, id: Uuid) -> Result<ClaimView, CommandError> {
    let desk = desk(&state).await?;
    // Central known to be down: straight to this computer's copy.
    let offline = state
        .local
        .lock()
        .await
        .as_ref()
        .is_some_and(|l| l.status().borrow().offline());
    let opened = if offline {
        detail::open_stored(&desk.cache, id, Utc::now()).await?
    } else {
        detail::open_claim(
            &desk.cache,
            desk.central.pool(),
            &*desk.map_err,
            id,
            Utc::now(),
        )
        .await?
    };
    kick(&state).await;
    typed(&opened)
}

/// A document opened for the viewer.
#[derive(Debug, Clone, Serialize, specta::Type)]
pub struct DocumentView {
    /// Document id; the viewer fetches the file as `claimdesk-doc://localhost/<id>`
    /// (TIFF pages as PNG with `?page=N`).
    pub id: Uuid,
    /// The checked format.
    pub format: Format,
    /// Pages, known here for images and TIFFs (pdf.js counts a PDF's).
    pub pages: Option<u32>,
    /// Size in bytes.
    pub size: u32,
    /// The file came from this computer's copy rather than central.
    pub from_cache: bool,
}

/// Opens document `id` of claim `claim_id` in the viewer: fetched from
/// central by its SHA-256 (or this computer's copy), checked, and the view
/// recorded. Only documents opened here are served to the viewer.
#[tauri::command]
#[specta::specta]
pub async fn view_document(
    state: State<'_, AppState>,
    claim_id: Uuid,
    id: Uuid,
) -> Result<DocumentView, CommandError> {
    let desk = desk(&state).await?;
    let (offline, cap) = match state.local.lock().await.as_ref() {
        Some(l) => (l.status().borrow().offline(), l.document_cap()),
        None => return Err(not_logged_in()),
    };
    let central = (!offline).then(|| desk.central.pool());
    let viewed = documents::view(
        &desk.cache,
        central,
        &*desk.map_err,
        claim_id,
        id,
        cap,
        Utc::now(),
    )
    .await?;
    state.viewable.lock().await.insert(id);
    kick(&state).await;
    Ok(DocumentView {
        id,
        format: viewed.format,
        pages: viewed.pages,
        size: u32::try_from(viewed.size).unwrap_or(u32::MAX),
        from_cache: viewed.source == documents::FileSource::Stored,
    })
}

/// A file attached here, queued for central.
#[derive(Debug, Clone, Serialize, specta::Type)]
pub struct AttachedDocument {
    /// The new document's id.
    pub id: Uuid,
    /// The name as kept.
    pub file_name: String,
    /// Its MIME type, from its content.
    pub mime_type: String,
    /// Pages, when known.
    pub page_count: Option<u32>,
    /// Bytes.
    pub size_bytes: u32,
}

/// Attaches a file to a claim (a reply to a request for information, say):
/// checked like a file to view, kept here and queued for central through
/// the outbox, so it works offline. `content` is base64.
#[tauri::command]
#[specta::specta]
pub async fn attach_document(
    state: State<'_, AppState>,
    claim_id: Uuid,
    document_type: String,
    file_name: String,
    content: String,
) -> Result<AttachedDocument, CommandError> {
    let cache = local_cache(&state).await?;
    let bytes = decode_file(&content)?;
    let attached = documents::attach(
        &cache,
        claim_id,
        Uuid::now_v7(),
        &document_type,
        &file_name,
        bytes,
        Utc::now(),
    )
    .await?;
    kick(&state).await;
    Ok(AttachedDocument {
        id: attached.id,
        file_name: attached.file_name,
        mime_type: attached.format.mime().to_string(),
        page_count: attached.pages,
        size_bytes: u32::try_from(attached.size).unwrap_or(u32::MAX),
    })
}

/// Saves a copy of a document the person has open into their downloads
/// folder, recording the export in the audit trail. Returns where it went.
#[tauri::command]
#[specta::specta]
pub async fn export_document(
    state: State<'_, AppState>,
    claim_id: Uuid,
    id: Uuid,
    file_name: String,
) -> Result<String, CommandError> {
    let cache = local_cache(&state).await?;
    if !state.viewable.lock().await.contains(&id) {
        return Err(CommandError::new(
            ErrorCode::InvalidInput,
            "Open the document before saving a copy.",
        ));
    }
    let folder = &state.dirs.exports;
    std::fs::create_dir_all(folder).map_err(|e| {
        tracing::error!(error = %e, "export folder cannot be created");
        CommandError::new(
            ErrorCode::Internal,
            "The downloads folder cannot be created.",
        )
    })?;
    let path = documents::export(&cache, claim_id, id, &file_name, folder, Utc::now()).await?;
    kick(&state).await;
    Ok(path.display().to_string())
}

/// Leases the next claim in the queue to this person and opens it.
#[tauri::command]
#[specta::specta]
pub async fn get_next(state: State<'_, AppState>) -> Result<ClaimView, CommandError> {
    let desk = desk(&state).await?;
    let opened = desk::get_next(&desk.cache, desk.central.pool(), &*desk.map_err, Utc::now())
        .await
        .map_err(|e| desk.error(e))?;
    kick(&state).await;
    typed(&opened)
}

/// Gives a leased claim back to the queue without deciding it.
#[tauri::command]
#[specta::specta]
pub async fn release_claim(state: State<'_, AppState>, id: Uuid) -> Result<(), CommandError> {
    let desk = desk(&state).await?;
    desk::release(desk.central.pool(), id)
        .await
        .map_err(|e| desk.error(e))
}

/// Takes a claim opened from the list: leases it to this person (unless
/// someone else holds it) and opens it again with the lease.
#[tauri::command]
#[specta::specta]
pub async fn take_claim(state: State<'_, AppState>, id: Uuid) -> Result<ClaimView, CommandError> {
    let desk = desk(&state).await?;
    let opened = desk::take(
        &desk.cache,
        desk.central.pool(),
        &*desk.map_err,
        id,
        Utc::now(),
    )
    .await
    .map_err(|e| desk.error(e))?;
    kick(&state).await;
    typed(&opened)
}

/// Renews the lease on the claim open in the workspace; `lease_lost` when
/// it is gone, so the desk can say so before the person decides.
#[tauri::command]
#[specta::specta]
pub async fn renew_lease(
    state: State<'_, AppState>,
    id: Uuid,
) -> Result<chrono::DateTime<Utc>, CommandError> {
    let desk = desk(&state).await?;
    desk::renew(desk.central.pool(), id)
        .await
        .map_err(|e| desk.error(e))
}

/// A supervisor returns a pended claim to the queue, saying why.
#[tauri::command]
#[specta::specta]
pub async fn lift_pend(
    state: State<'_, AppState>,
    id: Uuid,
    note: String,
) -> Result<i32, CommandError> {
    let result = desk(&state)
        .await?
        .on_central(async |conn| claimdesk_core::queue::lift_pend(conn, id, &note).await)
        .await;
    kick(&state).await;
    result
}

/// The code lists the decision panel picks from (works offline).
#[tauri::command]
#[specta::specta]
pub async fn code_lists(state: State<'_, AppState>) -> Result<CodeLists, CommandError> {
    let cache = local_cache(&state).await?;
    Ok(codes::load(&cache).await?)
}

/// What a queued decision will record.
#[derive(Debug, Clone, Serialize, specta::Type)]
pub struct QueuedDecision {
    /// The outbox key it travels under.
    pub key: Uuid,
    /// The lines as central will record them.
    pub lines: Vec<DecisionLine>,
}

/// Decides the claim the person has open, at the version they saw. Queued
/// in the outbox (so it works offline) and sent at once when online.
#[tauri::command]
#[specta::specta]
pub async fn decide(
    state: State<'_, AppState>,
    claim_id: Uuid,
    version: i32,
    decision: DecisionInput,
) -> Result<QueuedDecision, CommandError> {
    let cache = local_cache(&state).await?;
    let key = Uuid::now_v7();
    let lines = desk::decide(
        &cache,
        claim_id,
        i64::from(version),
        &decision,
        key,
        Utc::now(),
    )
    .await?;
    kick(&state).await;
    Ok(QueuedDecision { key, lines })
}

/// A refused outbox entry with both versions, for the conflict dialog.
#[derive(Debug, Clone, Serialize, specta::Type)]
pub struct ConflictView {
    /// The outbox key.
    pub key: Uuid,
    /// The claim it concerns.
    pub claim_id: Option<Uuid>,
    /// decide, note, attach, phi_view.
    pub kind: String,
    /// Why central refused (version_conflict, lease_lost, invalid_input, …).
    pub reason: Option<String>,
    /// What this desktop sent: the person's own work, kept whole.
    pub ours: OurWork,
    /// Central's record when it refused (same shape as an opened claim).
    pub theirs: Option<ClaimView>,
}

/// The person's side of a conflict.
#[derive(Debug, Clone, Default, Serialize, specta::Type)]
pub struct OurWork {
    /// approve, partial, deny, pend, request_info (decisions).
    pub decision: Option<String>,
    /// The version it was made on (decisions).
    pub version: Option<i32>,
    /// Explanation, justification or note text.
    pub text: Option<String>,
    /// Denial group code.
    pub denial_group_code: Option<String>,
    /// Denial reason code.
    pub denial_carc: Option<String>,
    /// Pend reason.
    pub pend_reason: Option<String>,
    /// Total the decision paid.
    #[specta(type = Option<String>)]
    pub paid: Option<rust_decimal::Decimal>,
    /// Attachments: the file's name.
    pub file_name: Option<String>,
    /// Decisions: the lines as sent (partial amounts, reduction codes,
    /// remarks), so a redo brings them back.
    pub lines: Vec<DecisionLine>,
}

impl OurWork {
    fn of(m: &outbox::Mutation) -> Self {
        use outbox::Mutation;
        match m {
            Mutation::Decide {
                version,
                decision,
                lines,
                denial_group_code,
                denial_carc,
                explanation,
                pend_reason,
                ..
            } => {
                let lines = serde_json::from_value::<Vec<DecisionLine>>(lines.clone()).ok();
                Self {
                    decision: Some(decision.clone()),
                    version: Some(*version),
                    text: explanation.clone(),
                    denial_group_code: denial_group_code.clone(),
                    denial_carc: denial_carc.clone(),
                    pend_reason: pend_reason.clone(),
                    paid: lines.as_deref().map(claimdesk_core::decision::total_paid),
                    file_name: None,
                    lines: lines.unwrap_or_default(),
                }
            }
            Mutation::Note { body, .. } => Self {
                text: Some(body.clone()),
                ..Self::default()
            },
            Mutation::Attach { file_name, .. } => Self {
                file_name: Some(file_name.clone()),
                ..Self::default()
            },
            Mutation::PhiView { .. } => Self::default(),
            Mutation::PhiExport { file_name, .. } => Self {
                file_name: Some(file_name.clone()),
                ..Self::default()
            },
        }
    }
}

/// Refused outbox entries, oldest first, each with central's version.
#[tauri::command]
#[specta::specta]
pub async fn conflicts(state: State<'_, AppState>) -> Result<Vec<ConflictView>, CommandError> {
    let cache = local_cache(&state).await?;
    Ok(outbox::conflicts(&cache)
        .await?
        .into_iter()
        .map(|c| ConflictView {
            key: c.ours.id,
            claim_id: c.ours.mutation.claim_id(),
            kind: c.ours.mutation.kind().to_string(),
            reason: c.ours.last_error.clone(),
            ours: OurWork::of(&c.ours.mutation),
            theirs: c.theirs.and_then(|t| {
                ClaimView::from_record(
                    &t.record,
                    ViewSource::Stored {
                        fetched_at: t.fetched_at,
                    },
                )
                .ok()
            }),
        })
        .collect())
}

/// The person dealt with a conflict: the entry leaves the outbox.
#[tauri::command]
#[specta::specta]
pub async fn dismiss_conflict(state: State<'_, AppState>, key: Uuid) -> Result<bool, CommandError> {
    let cache = local_cache(&state).await?;
    Ok(outbox::dismiss(&cache, key).await?)
}

/// Adds an internal note to a claim, through the outbox (offline too).
#[tauri::command]
#[specta::specta]
pub async fn add_note(
    state: State<'_, AppState>,
    claim_id: Uuid,
    body: String,
) -> Result<(), CommandError> {
    let body = body.trim().to_string();
    if body.is_empty() {
        return Err(CommandError::new(
            ErrorCode::InvalidInput,
            "Write the note first.",
        ));
    }
    let cache = local_cache(&state).await?;
    outbox::enqueue(
        &cache,
        Uuid::now_v7(),
        &outbox::Mutation::Note { claim_id, body },
        outbox::LocalEffect::None,
        Utc::now(),
    )
    .await?;
    kick(&state).await;
    Ok(())
}
