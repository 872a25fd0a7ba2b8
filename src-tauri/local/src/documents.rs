//! Document files in the encrypted cache: stored after a SHA-256 check
//! against central's content address, sealed per file, opened with the
//! same check (a file altered on disk does not open), and evicted least
//! recently used first once the files pass a size cap.

use chrono::{DateTime, Utc};
use claimdesk_core::document_file::{inspect, tiff_page_png, FileProblem, Format};
use claimdesk_core::ErrorCode;
use sha2::{Digest, Sha256};
use sqlx::PgPool;
use uuid::Uuid;

use crate::cache::{Cache, CacheError};
use crate::outbox::{self, LocalEffect, Mutation};

const TABLE: &str = "document_blob";

/// Why a document file could not be stored or opened.
#[derive(Debug, thiserror::Error)]
pub enum DocumentError {
    /// The bytes do not hash to the address they came with.
    #[error("the document's content does not match its SHA-256")]
    HashMismatch,
    /// The cache failed.
    #[error(transparent)]
    Cache(#[from] CacheError),
}

fn sha256(bytes: &[u8]) -> [u8; 32] {
    Sha256::digest(bytes).into()
}

/// Stores document `id`'s file, refusing bytes that do not hash to
/// `expected` (central's address for it). Replaces an earlier copy.
pub async fn store(
    cache: &Cache,
    id: Uuid,
    expected: [u8; 32],
    bytes: &[u8],
    now: DateTime<Utc>,
) -> Result<(), DocumentError> {
    if sha256(bytes) != expected {
        return Err(DocumentError::HashMismatch);
    }
    let key = cache.sealing_key().await;
    let sealed = key.seal(TABLE, id, bytes);
    sqlx::query(
        "INSERT INTO document_blob (id, sha256, size, fetched_at, used_at, key_id, sealed)
         VALUES (?, ?, ?, ?, ?, ?, ?)
         ON CONFLICT (id) DO UPDATE SET sha256 = excluded.sha256, size = excluded.size,
             fetched_at = excluded.fetched_at, used_at = excluded.used_at,
             key_id = excluded.key_id, sealed = excluded.sealed",
    )
    .bind(id.as_bytes().as_slice())
    .bind(expected.as_slice())
    .bind(i64::try_from(bytes.len()).unwrap_or(i64::MAX))
    .bind(now.to_rfc3339())
    .bind(now.to_rfc3339())
    .bind(key.id().0)
    .bind(sealed)
    .execute(cache.db())
    .await
    .map_err(CacheError::from)?;
    Ok(())
}

/// Document `id`'s file if this computer has it, marked as used at `now`.
/// A copy that no longer hashes to its address is an error, not a file.
pub async fn open(
    cache: &Cache,
    id: Uuid,
    now: DateTime<Utc>,
) -> Result<Option<zeroize::Zeroizing<Vec<u8>>>, DocumentError> {
    let row: Option<(Vec<u8>, Vec<u8>)> =
        sqlx::query_as("SELECT sha256, sealed FROM document_blob WHERE id = ?")
            .bind(id.as_bytes().as_slice())
            .fetch_optional(cache.db())
            .await
            .map_err(CacheError::from)?;
    let Some((expected, sealed)) = row else {
        return Ok(None);
    };
    let plain = zeroize::Zeroizing::new(
        cache
            .key_for(&sealed)
            .map_err(CacheError::from)?
            .open(TABLE, id, &sealed)
            .map_err(CacheError::from)?,
    );
    if sha256(&plain).as_slice() != expected.as_slice() {
        return Err(DocumentError::HashMismatch);
    }
    sqlx::query("UPDATE document_blob SET used_at = ? WHERE id = ?")
        .bind(now.to_rfc3339())
        .bind(id.as_bytes().as_slice())
        .execute(cache.db())
        .await
        .map_err(CacheError::from)?;
    Ok(Some(plain))
}

/// Bytes of document files stored.
pub async fn stored_bytes(cache: &Cache) -> Result<u64, CacheError> {
    let total: i64 = sqlx::query_scalar("SELECT coalesce(sum(size), 0) FROM document_blob")
        .fetch_one(cache.db())
        .await?;
    Ok(u64::try_from(total).unwrap_or(0))
}

/// Evicts the least recently used files until the rest fit in `cap`
/// bytes; returns how many files went. Files on screen stay (and count
/// first), so one larger than the cap can still be viewed while it is open.
pub async fn evict_to(cache: &Cache, cap: u64) -> Result<u64, CacheError> {
    let cap = i64::try_from(cap).unwrap_or(i64::MAX);
    // Blob ids as SQLite's hex() spells them.
    let on_screen: Vec<String> = cache
        .on_screen()
        .iter()
        .map(|id| id.simple().to_string().to_uppercase())
        .collect();
    let on_screen = serde_json::to_string(&on_screen).expect("ids serialise");
    // On screen first, then newest first, a running total; everything else
    // past the cap goes.
    let gone = sqlx::query(
        "DELETE FROM document_blob WHERE id IN (
             SELECT id FROM (
                 SELECT id, kept, sum(size) OVER (ORDER BY kept DESC, used_at DESC, id) AS running
                 FROM (SELECT id, size, used_at, hex(id) IN (SELECT value FROM json_each(?)) AS kept
                       FROM document_blob))
             WHERE running > ? AND NOT kept)",
    )
    .bind(on_screen)
    .bind(cap)
    .execute(cache.db())
    .await?;
    Ok(gone.rows_affected())
}

/// Default cap on document files kept on this computer: a day's leased
/// claims with their scanned records fit many times over.
pub const DEFAULT_CAP: u64 = 1024 * 1024 * 1024;

/// What central records about a document, as the viewer needs it.
#[derive(Debug, Clone, PartialEq, Eq)]
struct Meta {
    claim_id: Uuid,
    member_id: Uuid,
    mime: String,
    sha256: [u8; 32],
}

/// Central's record of document `id` (row security applies: a restricted
/// claim's documents are not there for someone who may not see it).
async fn central_meta(central: &PgPool, id: Uuid) -> Result<Option<Meta>, sqlx::Error> {
    let row: Option<(Uuid, Uuid, String, Vec<u8>)> = sqlx::query_as(
        "SELECT d.claim_id, c.member_id, d.mime_type, d.sha256
         FROM claimdesk.document d JOIN claimdesk.claim c ON c.id = d.claim_id
         WHERE d.id = $1",
    )
    .bind(id)
    .fetch_optional(central)
    .await?;
    Ok(row.and_then(|(claim_id, member_id, mime, sha)| {
        Some(Meta {
            claim_id,
            member_id,
            mime,
            sha256: sha.try_into().ok()?,
        })
    }))
}

/// Fetches a file from central by its content address and stores it,
/// refusing it (nothing stored) when it does not hash to that address.
async fn fetch_and_store(
    cache: &Cache,
    central: &PgPool,
    id: Uuid,
    sha256: [u8; 32],
    now: DateTime<Utc>,
) -> Result<bool, FetchError> {
    // Through the document row, so row security decides, and by the hash.
    let content: Option<Vec<u8>> = sqlx::query_scalar(
        "SELECT dc.content FROM claimdesk.document d
         JOIN claimdesk.document_content dc ON dc.sha256 = d.sha256
         WHERE d.id = $1 AND d.sha256 = $2",
    )
    .bind(id)
    .bind(sha256.as_slice())
    .fetch_optional(central)
    .await?;
    let Some(content) = content.map(zeroize::Zeroizing::new) else {
        return Ok(false);
    };
    match store(cache, id, sha256, &content, now).await {
        Ok(()) => Ok(true),
        Err(DocumentError::HashMismatch) => {
            // Not PHI: ids and the fact of a mismatch.
            tracing::error!(document = %id, "central sent a document that does not match its SHA-256");
            Err(FetchError::HashMismatch)
        }
        Err(DocumentError::Cache(e)) => Err(FetchError::Cache(e)),
    }
}

/// Why fetching from central failed.
#[derive(Debug, thiserror::Error)]
enum FetchError {
    #[error(transparent)]
    Central(#[from] sqlx::Error),
    #[error("hash mismatch")]
    HashMismatch,
    #[error(transparent)]
    Cache(#[from] CacheError),
}

/// The sealed copy's hash, if this computer has the file.
async fn stored_hash(cache: &Cache, id: Uuid) -> Result<Option<Vec<u8>>, CacheError> {
    Ok(
        sqlx::query_scalar("SELECT sha256 FROM document_blob WHERE id = ?")
            .bind(id.as_bytes().as_slice())
            .fetch_optional(cache.db())
            .await?,
    )
}

/// Where a viewed file came from.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FileSource {
    /// Fetched from central just now.
    Central,
    /// This computer's copy (central had the same hash, or was not asked).
    Stored,
}

/// A document opened for viewing: checked, and its view recorded.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ViewedDocument {
    /// Document id.
    pub id: Uuid,
    /// Its claim.
    pub claim_id: Uuid,
    /// The checked format.
    pub format: Format,
    /// Pages, when known before pdf.js reads a PDF.
    pub pages: Option<u32>,
    /// Bytes.
    pub size: u64,
    /// Where the file came from.
    pub source: FileSource,
}

/// Why a document could not be viewed.
#[derive(Debug, thiserror::Error)]
pub enum ViewError {
    /// Central answered: no such document, or not visible to this login.
    #[error("no such document")]
    NotFound,
    /// Central is unreachable and this computer has no copy.
    #[error("the document is not stored on this computer")]
    NotStored,
    /// Central refused for another reason.
    #[error("central refused: {0:?}")]
    Central(ErrorCode),
    /// The content does not hash to its address (from central, or on disk).
    #[error("the document's content does not match its SHA-256")]
    Integrity,
    /// The file is not one the viewer can show safely.
    #[error(transparent)]
    Unreadable(#[from] FileProblem),
    /// The cache failed.
    #[error(transparent)]
    Cache(#[from] CacheError),
}

impl From<DocumentError> for ViewError {
    fn from(e: DocumentError) -> Self {
        match e {
            DocumentError::HashMismatch => Self::Integrity,
            DocumentError::Cache(e) => Self::Cache(e),
        }
    }
}

/// Opens document `id` of claim `claim_id` for the viewer: takes the file
/// from this computer when its copy has central's hash, else fetches it
/// (checked against the hash, stored, the cache trimmed to `cap`); checks
/// the file is what it says and within limits; records the PHI view.
/// `central` is None when the engine knows central is unreachable: then
/// only the stored copy is used, and the claim's stored record says whose
/// it is.
pub async fn view(
    cache: &Cache,
    central: Option<&PgPool>,
    map_err: &(dyn Fn(sqlx::Error) -> ErrorCode + Send + Sync),
    claim_id: Uuid,
    id: Uuid,
    cap: u64,
    now: DateTime<Utc>,
) -> Result<ViewedDocument, ViewError> {
    let online = match central {
        Some(central) => match central_meta(central, id).await {
            Ok(Some(meta)) if meta.claim_id == claim_id => Some((central, meta)),
            Ok(_) => return Err(ViewError::NotFound),
            Err(e) => match map_err(e) {
                ErrorCode::ServerUnreachable | ErrorCode::ServerBusy => None,
                code => return Err(ViewError::Central(code)),
            },
        },
        None => None,
    };
    // On screen from now until the window locks or the person signs out.
    cache.keep_on_screen(id);
    let (meta, source) = match online {
        Some((central, meta)) => {
            let have = stored_hash(cache, id).await?;
            let mut source = FileSource::Stored;
            if have.as_deref() != Some(meta.sha256.as_slice()) {
                match fetch_and_store(cache, central, id, meta.sha256, now).await {
                    Ok(true) => source = FileSource::Central,
                    Ok(false) => return Err(ViewError::NotFound),
                    Err(FetchError::HashMismatch) => return Err(ViewError::Integrity),
                    Err(FetchError::Cache(e)) => return Err(e.into()),
                    Err(FetchError::Central(e)) => return Err(ViewError::Central(map_err(e))),
                }
                evict_to(cache, cap).await?;
            }
            (meta, source)
        }
        None => (stored_meta(cache, claim_id, id).await?, FileSource::Stored),
    };
    let bytes = open(cache, id, now).await?.ok_or(ViewError::NotStored)?;
    let checked = inspect(&meta.mime, &bytes)?;
    outbox::enqueue(
        cache,
        Uuid::now_v7(),
        &Mutation::PhiView {
            resource_type: "document".into(),
            resource_id: id.to_string(),
            member_id: Some(meta.member_id),
            viewed_at: now,
        },
        LocalEffect::None,
        now,
    )
    .await?;
    Ok(ViewedDocument {
        id,
        claim_id,
        format: checked.format,
        pages: checked.pages,
        size: bytes.len() as u64,
        source,
    })
}

/// What the claim's stored record says about one of its documents, for
/// viewing offline.
async fn stored_meta(cache: &Cache, claim_id: Uuid, id: Uuid) -> Result<Meta, ViewError> {
    let claim = crate::detail::stored(cache, claim_id)
        .await
        .map_err(|e| match e {
            crate::detail::OpenError::Cache(e) => ViewError::Cache(e),
            _ => ViewError::NotStored,
        })?
        .ok_or(ViewError::NotStored)?;
    let doc = claim.record.0["documents"]
        .as_array()
        .and_then(|docs| docs.iter().find(|d| d["id"] == id.to_string()))
        .ok_or(ViewError::NotStored)?;
    let sha256 = stored_hash(cache, id)
        .await?
        .and_then(|h| h.try_into().ok())
        .ok_or(ViewError::NotStored)?;
    Ok(Meta {
        claim_id,
        member_id: claim.member_id,
        mime: doc["mime_type"].as_str().unwrap_or_default().to_string(),
        sha256,
    })
}

/// One page for the viewer: the file itself for PDFs and images, a PNG of
/// the page for TIFFs. Only the stored copy is read: [`view`] fetched and
/// checked it, and recorded the view.
pub async fn page(
    cache: &Cache,
    id: Uuid,
    page: Option<u32>,
    now: DateTime<Utc>,
) -> Result<(Format, Vec<u8>), ViewError> {
    let bytes = open(cache, id, now).await?.ok_or(ViewError::NotStored)?;
    let format = Format::sniff(&bytes).ok_or(FileProblem::Damaged)?;
    match (format, page) {
        (Format::Tiff, page) => Ok((Format::Png, tiff_page_png(&bytes, page.unwrap_or(1))?)),
        (format, _) => Ok((format, bytes.to_vec())),
    }
}

/// Fetches the files of the person's leased claims that this computer does
/// not have (or has an older version of), so they open offline, then trims
/// the cache to `cap`. A prefetch is not a view: nothing is audited until
/// the person opens one. Returns how many files were fetched.
pub async fn prefetch_leased(
    cache: &Cache,
    central: &PgPool,
    cap: u64,
    now: DateTime<Utc>,
) -> Result<u64, crate::sync::SyncError> {
    let wanted: Vec<(Uuid, Vec<u8>)> = sqlx::query_as(
        "SELECT d.id, d.sha256 FROM claimdesk.document d
         JOIN claimdesk.queue_entry q ON q.claim_id = d.claim_id
         WHERE q.lease_holder = session_user AND q.lease_expires_at > now()
         ORDER BY q.lease_expires_at, d.uploaded_at",
    )
    .fetch_all(central)
    .await?;
    let mut fetched = 0;
    for (id, sha) in wanted {
        let Ok(sha256) = <[u8; 32]>::try_from(sha.as_slice()) else {
            continue;
        };
        if stored_hash(cache, id).await?.as_deref() == Some(sha256.as_slice()) {
            continue;
        }
        match fetch_and_store(cache, central, id, sha256, now).await {
            Ok(true) => fetched += 1,
            // Logged where found; the person sees it if they open the file.
            Ok(false) | Err(FetchError::HashMismatch) => {}
            Err(FetchError::Central(e)) => return Err(e.into()),
            Err(FetchError::Cache(e)) => return Err(e.into()),
        }
    }
    if fetched > 0 {
        evict_to(cache, cap).await?;
    }
    Ok(fetched)
}

/// Largest file an adjudicator may attach (central refuses more too).
pub const MAX_ATTACHMENT: usize = 25 * 1024 * 1024;

/// The kinds of document a person may attach; the claim forms themselves
/// arrive with the claim.
pub const ATTACHABLE_TYPES: [&str; 5] = [
    "medical_record",
    "correspondence",
    "prior_authorization",
    "eob",
    "other",
];

/// Why a file could not be attached.
#[derive(Debug, thiserror::Error)]
pub enum AttachError {
    /// Not a kind a person attaches.
    #[error("Choose what kind of document this is.")]
    UnknownType,
    /// No name, or a name too long.
    #[error("The file needs a name of at most 255 characters.")]
    BadName,
    /// Past [`MAX_ATTACHMENT`].
    #[error("The file is larger than 25 MiB, the most a claim takes.")]
    TooLarge,
    /// The name's extension says one type, the content another.
    #[error("The file is named as {named} but its content is {found}.")]
    NameMismatch {
        /// What the extension says.
        named: &'static str,
        /// What the bytes are.
        found: &'static str,
    },
    /// Not a file the viewer could show (damaged, mistyped, too large an image).
    #[error(transparent)]
    Unreadable(#[from] FileProblem),
    /// The cache failed.
    #[error(transparent)]
    Cache(#[from] CacheError),
}

/// An attachment queued for central.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Attached {
    /// The new document's id.
    pub id: Uuid,
    /// The file name as kept.
    pub file_name: String,
    /// Its type, from its content.
    pub format: Format,
    /// Pages, when known.
    pub pages: Option<u32>,
    /// Bytes.
    pub size: u64,
}

fn format_named(file_name: &str) -> Option<Format> {
    let ext = file_name.rsplit_once('.')?.1.to_ascii_lowercase();
    Some(match ext.as_str() {
        "pdf" => Format::Pdf,
        "tif" | "tiff" => Format::Tiff,
        "png" => Format::Png,
        "jpg" | "jpeg" => Format::Jpeg,
        _ => return None,
    })
}

/// Queues `bytes` as a new document `id` of claim `claim_id`, after the
/// checks the viewer makes (the type comes from the content, and a name
/// that says otherwise is refused). The file is also kept in this
/// computer's store, so it opens here as soon as central has it.
#[allow(clippy::too_many_arguments)]
pub async fn attach(
    cache: &Cache,
    claim_id: Uuid,
    id: Uuid,
    document_type: &str,
    file_name: &str,
    bytes: Vec<u8>,
    now: DateTime<Utc>,
) -> Result<Attached, AttachError> {
    if !ATTACHABLE_TYPES.contains(&document_type) {
        return Err(AttachError::UnknownType);
    }
    // Only the name: a browser may hand over a path.
    let file_name = file_name
        .rsplit(['/', '\\'])
        .next()
        .unwrap_or_default()
        .trim()
        .to_string();
    if file_name.is_empty() || file_name.chars().count() > 255 {
        return Err(AttachError::BadName);
    }
    if bytes.len() > MAX_ATTACHMENT {
        return Err(AttachError::TooLarge);
    }
    let found = Format::sniff(&bytes);
    let format = match (format_named(&file_name), found) {
        (_, None) if bytes.is_empty() => return Err(FileProblem::Empty.into()),
        (Some(named), Some(found)) if named != found => {
            return Err(AttachError::NameMismatch {
                named: named.mime(),
                found: found.mime(),
            })
        }
        (_, Some(found)) => found,
        (named, None) => {
            return Err(FileProblem::NotOfType {
                declared: named.map_or("a document", Format::mime),
                found: "not a PDF, TIFF, PNG or JPEG",
            }
            .into())
        }
    };
    let checked = inspect(format.mime(), &bytes)?;
    let size = bytes.len() as u64;
    store(cache, id, sha256(&bytes), &bytes, now)
        .await
        .map_err(|e| match e {
            DocumentError::Cache(e) => AttachError::Cache(e),
            DocumentError::HashMismatch => AttachError::Unreadable(FileProblem::Damaged),
        })?;
    outbox::enqueue(
        cache,
        Uuid::now_v7(),
        &Mutation::Attach {
            claim_id,
            document_id: id,
            document_type: document_type.to_string(),
            file_name: file_name.clone(),
            mime_type: format.mime().to_string(),
            content: bytes,
        },
        LocalEffect::None,
        now,
    )
    .await?;
    Ok(Attached {
        id,
        file_name,
        format,
        pages: checked.pages,
        size,
    })
}

/// Why a document could not be exported.
#[derive(Debug, thiserror::Error)]
pub enum ExportError {
    /// Not on this computer: it is exported from the copy the viewer showed.
    #[error("open the document before saving a copy")]
    NotStored,
    /// Writing the copy failed.
    #[error("the copy could not be written: {0}")]
    Write(std::io::Error),
    /// The cache failed.
    #[error(transparent)]
    Cache(#[from] CacheError),
    /// The stored copy failed its hash check.
    #[error("the stored copy does not match its SHA-256")]
    Integrity,
}

/// Saves a copy of document `id` (of claim `claim_id`) into `folder` under
/// `file_name` (made unique there), readable by this user only, and queues
/// the export for the audit trail first: a copy that may have left is
/// recorded even if writing it then fails. Returns the path written.
pub async fn export(
    cache: &Cache,
    claim_id: Uuid,
    id: Uuid,
    file_name: &str,
    folder: &std::path::Path,
    now: DateTime<Utc>,
) -> Result<std::path::PathBuf, ExportError> {
    let bytes = match open(cache, id, now).await {
        Ok(Some(bytes)) => bytes,
        Ok(None) => return Err(ExportError::NotStored),
        Err(DocumentError::HashMismatch) => return Err(ExportError::Integrity),
        Err(DocumentError::Cache(e)) => return Err(e.into()),
    };
    let member_id = crate::detail::stored(cache, claim_id)
        .await
        .ok()
        .flatten()
        .map(|c| c.member_id);
    let name = file_name
        .rsplit(['/', '\\'])
        .next()
        .filter(|n| !n.trim().is_empty() && !n.starts_with('.'))
        .unwrap_or("document");
    let path = unique_path(folder, name);
    outbox::enqueue(
        cache,
        Uuid::now_v7(),
        &Mutation::PhiExport {
            resource_type: "document".into(),
            resource_id: id.to_string(),
            member_id,
            exported_at: now,
            file_name: path
                .file_name()
                .map(|n| n.to_string_lossy().into_owned())
                .unwrap_or_default(),
        },
        LocalEffect::None,
        now,
    )
    .await?;
    write_private(&path, &bytes).map_err(ExportError::Write)?;
    Ok(path)
}

/// `folder/name`, or `folder/stem (2).ext` and so on when taken.
pub fn unique_path(folder: &std::path::Path, name: &str) -> std::path::PathBuf {
    let (stem, ext) = match name.rsplit_once('.') {
        Some((stem, ext)) if !stem.is_empty() => (stem, format!(".{ext}")),
        _ => (name, String::new()),
    };
    let mut path = folder.join(name);
    let mut n = 2;
    while path.exists() {
        path = folder.join(format!("{stem} ({n}){ext}"));
        n += 1;
    }
    path
}

/// Creates a new file only this user can read; never replaces one.
pub fn create_private(path: &std::path::Path) -> std::io::Result<std::fs::File> {
    let mut options = std::fs::OpenOptions::new();
    options.write(true).create_new(true);
    #[cfg(unix)]
    std::os::unix::fs::OpenOptionsExt::mode(&mut options, 0o600);
    options.open(path)
}

/// Writes a new file only this user can read; never replaces one.
fn write_private(path: &std::path::Path, bytes: &[u8]) -> std::io::Result<()> {
    use std::io::Write as _;
    let mut file = create_private(path)?;
    file.write_all(bytes)?;
    file.sync_all()
}
