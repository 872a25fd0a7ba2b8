//! The `claimdesk-doc` URI scheme: document files for the viewer, straight
//! from the encrypted cache, so pdf.js and images get bytes without a
//! base64 trip through IPC. Only documents opened through `view_document`
//! this session (checked, view audited) are served; nothing is cached by
//! the webview.

use chrono::Utc;
use claimdesk_local::documents::{self, ViewError};
use tauri::http::{header, Request, Response, StatusCode};
use tauri::{Manager, Runtime, UriSchemeContext, UriSchemeResponder};
use uuid::Uuid;

use crate::state::AppState;

/// The scheme's name.
pub const SCHEME: &str = "claimdesk-doc";

/// Answers one request, off the main thread.
pub fn handle<R: Runtime>(
    ctx: UriSchemeContext<'_, R>,
    request: Request<Vec<u8>>,
    responder: UriSchemeResponder,
) {
    let app = ctx.app_handle().clone();
    tauri::async_runtime::spawn(async move {
        let state = app.state::<AppState>();
        responder.respond(answer(&state, &request).await);
    });
}

/// `/<document id>`, with `?page=N` for a TIFF page.
fn parse(request: &Request<Vec<u8>>) -> Option<(Uuid, Option<u32>)> {
    let id = request.uri().path().trim_start_matches('/').parse().ok()?;
    let page = request
        .uri()
        .query()
        .and_then(|q| q.split('&').find_map(|kv| kv.strip_prefix("page=")))
        .and_then(|p| p.parse().ok());
    Some((id, page))
}

async fn answer(state: &AppState, request: &Request<Vec<u8>>) -> Response<Vec<u8>> {
    let Some((id, page)) = parse(request) else {
        return plain(StatusCode::BAD_REQUEST, "Not a document address.", request);
    };
    if crate::autolock::ensure_unlocked(state).await.is_err() {
        return plain(StatusCode::FORBIDDEN, "ClaimDesk is locked.", request);
    }
    if !state.viewable.lock().await.contains(&id) {
        return plain(StatusCode::FORBIDDEN, "Open the document first.", request);
    }
    let cache = match state.local.lock().await.as_ref() {
        Some(local) => local.cache().clone(),
        None => return plain(StatusCode::UNAUTHORIZED, "You are not logged in.", request),
    };
    match documents::page(&cache, id, page, Utc::now()).await {
        Ok((format, bytes)) => with_headers(
            Response::builder()
                .status(StatusCode::OK)
                .header(header::CONTENT_TYPE, format.mime()),
            request,
        )
        .body(bytes)
        .unwrap_or_default(),
        Err(ViewError::Unreadable(problem)) => plain(
            StatusCode::UNPROCESSABLE_ENTITY,
            &problem.to_string(),
            request,
        ),
        Err(ViewError::Integrity) => plain(
            StatusCode::UNPROCESSABLE_ENTITY,
            "This document's stored copy does not match its fingerprint; open it again online.",
            request,
        ),
        Err(ViewError::NotStored) => plain(
            StatusCode::NOT_FOUND,
            "This document is no longer stored on this computer; open it again.",
            request,
        ),
        Err(error) => {
            tracing::error!(%error, document = %id, "document could not be served");
            plain(
                StatusCode::INTERNAL_SERVER_ERROR,
                "The document could not be read. Details are in the log.",
                request,
            )
        }
    }
}

/// PHI: never kept by the webview; readable by the app's own page only.
fn with_headers(
    builder: tauri::http::response::Builder,
    request: &Request<Vec<u8>>,
) -> tauri::http::response::Builder {
    let origin = request
        .headers()
        .get(header::ORIGIN)
        .and_then(|o| o.to_str().ok())
        .filter(|o| is_app_origin(o))
        .unwrap_or("tauri://localhost")
        .to_string();
    builder
        .header(header::CACHE_CONTROL, "no-store")
        .header(header::ACCESS_CONTROL_ALLOW_ORIGIN, origin)
        .header("X-Content-Type-Options", "nosniff")
}

/// The app's own page: `tauri://localhost` (Linux, macOS), or
/// `http(s)://tauri.localhost` (Windows); the dev server in debug builds.
fn is_app_origin(origin: &str) -> bool {
    matches!(
        origin,
        "tauri://localhost" | "http://tauri.localhost" | "https://tauri.localhost"
    ) || (cfg!(debug_assertions) && origin == "http://localhost:5173")
}

fn plain(status: StatusCode, message: &str, request: &Request<Vec<u8>>) -> Response<Vec<u8>> {
    with_headers(
        Response::builder()
            .status(status)
            .header(header::CONTENT_TYPE, "text/plain; charset=utf-8"),
        request,
    )
    .body(message.as_bytes().to_vec())
    .unwrap_or_default()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn addresses_name_a_document_and_maybe_a_page() {
        let id = Uuid::now_v7();
        let req = |uri: &str| Request::builder().uri(uri).body(Vec::new()).unwrap();
        assert_eq!(
            parse(&req(&format!("claimdesk-doc://localhost/{id}"))),
            Some((id, None))
        );
        assert_eq!(
            parse(&req(&format!("http://claimdesk-doc.localhost/{id}?page=3"))),
            Some((id, Some(3)))
        );
        assert_eq!(parse(&req("claimdesk-doc://localhost/../etc/passwd")), None);
        assert!(is_app_origin("tauri://localhost"));
        assert!(!is_app_origin("https://evil.example"));
    }
}
