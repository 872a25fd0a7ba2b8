//! Document files in the encrypted cache: the hash check on the way in and
//! out, no plaintext on disk, least-recently-used eviction under a cap.
//! Real SQLite files, the real keychain.

mod support;

use chrono::{Duration, TimeZone, Utc};
use claimdesk_local::documents::{self, DocumentError};
use sha2::{Digest, Sha256};
use uuid::Uuid;

fn file(marker: &str, size: usize) -> (Vec<u8>, [u8; 32]) {
    let mut bytes = format!("%PDF-1.4 {marker} ").into_bytes();
    bytes.resize(size, b'.');
    let hash = Sha256::digest(&bytes).into();
    (bytes, hash)
}

#[tokio::test]
async fn files_are_checked_sealed_and_evicted_least_recently_used_first() {
    let dir = tempfile::tempdir().unwrap();
    let kc = support::keychain().await;
    let owner = support::owner("dora");
    let (cache, _) = support::open(dir.path(), &owner, &kc).await;
    let t0 = Utc.with_ymd_and_hms(2026, 12, 1, 9, 0, 0).unwrap();

    // A file that does not hash to its address is refused, nothing stored.
    let (bytes, hash) = file("MEMBER-RECORD-Okafor", 4_000);
    let mut wrong = hash;
    wrong[0] ^= 1;
    let a = Uuid::now_v7();
    assert!(matches!(
        documents::store(&cache, a, wrong, &bytes, t0).await,
        Err(DocumentError::HashMismatch)
    ));
    assert_eq!(documents::stored_bytes(&cache).await.unwrap(), 0);

    documents::store(&cache, a, hash, &bytes, t0).await.unwrap();
    let opened = documents::open(&cache, a, t0).await.unwrap().unwrap();
    assert_eq!(opened.as_slice(), bytes.as_slice());
    assert!(documents::open(&cache, Uuid::now_v7(), t0)
        .await
        .unwrap()
        .is_none());
    // Sealed: the file's words are nowhere on disk.
    cache.checkpoint().await.unwrap();
    assert_eq!(
        support::found_on_disk(dir.path(), "MEMBER-RECORD-Okafor"),
        None
    );

    // Three more files; `a` opened most recently, so `b` and `c` go first.
    let (b_bytes, b_hash) = file("b", 4_000);
    let (c_bytes, c_hash) = file("c", 4_000);
    let (d_bytes, d_hash) = file("d", 4_000);
    let (b, c, d) = (Uuid::now_v7(), Uuid::now_v7(), Uuid::now_v7());
    documents::store(&cache, b, b_hash, &b_bytes, t0 + Duration::minutes(1))
        .await
        .unwrap();
    documents::store(&cache, c, c_hash, &c_bytes, t0 + Duration::minutes(2))
        .await
        .unwrap();
    documents::store(&cache, d, d_hash, &d_bytes, t0 + Duration::minutes(3))
        .await
        .unwrap();
    documents::open(&cache, a, t0 + Duration::minutes(4))
        .await
        .unwrap()
        .unwrap();
    assert_eq!(documents::stored_bytes(&cache).await.unwrap(), 16_000);
    assert_eq!(documents::evict_to(&cache, 9_000).await.unwrap(), 2);
    for (id, kept) in [(a, true), (b, false), (c, false), (d, true)] {
        assert_eq!(
            documents::open(&cache, id, t0 + Duration::minutes(5))
                .await
                .unwrap()
                .is_some(),
            kept
        );
    }

    // A stored copy altered on disk does not open as the document.
    let (e_bytes, e_hash) = file("e", 100);
    let e = Uuid::now_v7();
    documents::store(&cache, e, e_hash, &e_bytes, t0)
        .await
        .unwrap();
    let mut other = e_hash;
    other[31] ^= 1;
    {
        // From outside the crate, as a tamperer would.
        use sqlx::ConnectOptions;
        let mut conn = sqlx::sqlite::SqliteConnectOptions::new()
            .filename(cache.path())
            .connect()
            .await
            .unwrap();
        sqlx::query("UPDATE document_blob SET sha256 = ? WHERE id = ?")
            .bind(other.as_slice())
            .bind(e.as_bytes().as_slice())
            .execute(&mut conn)
            .await
            .unwrap();
    }
    assert!(matches!(
        documents::open(&cache, e, t0).await,
        Err(DocumentError::HashMismatch)
    ));
    cache.wipe(&owner, &kc).await.unwrap();
}

/// Two of a seeded claim's documents: its CMS-1500 PDF and its faxed TIFF.
async fn claim_with_pdf_and_tiff(db: &support::common::TestDb) -> (Uuid, Uuid, Uuid) {
    sqlx::query_as(
        "SELECT p.claim_id, p.id, t.id FROM claimdesk.document p
         JOIN claimdesk.document t ON t.claim_id = p.claim_id AND t.mime_type = 'image/tiff'
         WHERE p.document_type = 'cms1500' ORDER BY p.claim_id LIMIT 1",
    )
    .fetch_one(&db.owner)
    .await
    .unwrap()
}

fn map(e: sqlx::Error) -> claimdesk_core::ErrorCode {
    support::common::error_code(e)
}

/// Views a document with central answering, under the default cap.
async fn view_online(
    desk: &support::Desk,
    claim: Uuid,
    id: Uuid,
) -> Result<documents::ViewedDocument, documents::ViewError> {
    documents::view(
        &desk.cache,
        Some(&desk.central),
        &map,
        claim,
        id,
        documents::DEFAULT_CAP,
        Utc::now(),
    )
    .await
}

fn document_views(entries: &[claimdesk_local::outbox::OutboxEntry]) -> Vec<String> {
    entries
        .iter()
        .filter_map(|e| match &e.mutation {
            claimdesk_local::outbox::Mutation::PhiView {
                resource_type,
                resource_id,
                member_id: Some(_),
                ..
            } if resource_type == "document" => Some(resource_id.clone()),
            _ => None,
        })
        .collect()
}

#[tokio::test]
async fn documents_come_from_central_by_hash_are_audited_and_open_offline() {
    use claimdesk_core::document_file::Format;
    use documents::{FileSource, ViewError};
    let mut db = support::seeded(40, 7, 10).await;
    let (claim, pdf, tiff) = claim_with_pdf_and_tiff(&db).await;
    let desk = support::desk(&mut db, "adjudicator").await;
    let cap = documents::DEFAULT_CAP;
    let now = Utc::now();

    let first = view_online(&desk, claim, pdf).await.unwrap();
    assert_eq!(
        (first.format, first.source),
        (Format::Pdf, FileSource::Central)
    );
    // The same content again comes from this computer.
    let again = view_online(&desk, claim, pdf).await.unwrap();
    assert_eq!(again.source, FileSource::Stored);
    let t = view_online(&desk, claim, tiff).await.unwrap();
    assert_eq!((t.format, t.pages), (Format::Tiff, Some(3)));
    let (format, png) = documents::page(&desk.cache, tiff, Some(2), now)
        .await
        .unwrap();
    assert_eq!(format, Format::Png);
    assert!(png.starts_with(b"\x89PNG"));
    // Every view is a PHI-view event naming the member.
    let views = document_views(&claimdesk_local::outbox::entries(&desk.cache).await.unwrap());
    assert_eq!(
        views,
        vec![pdf.to_string(), pdf.to_string(), tiff.to_string()]
    );

    // A document of another claim, or none at all, is not found.
    let other = Uuid::now_v7();
    assert!(matches!(
        view_online(&desk, other, pdf).await,
        Err(ViewError::NotFound)
    ));
    // Offline: only with the claim's record stored, and then from the copy.
    assert!(matches!(
        documents::view(&desk.cache, None, &map, claim, pdf, cap, now).await,
        Err(ViewError::NotStored)
    ));
    claimdesk_local::detail::open_claim(&desk.cache, &desk.central, &map, claim, now)
        .await
        .unwrap();
    let offline = documents::view(&desk.cache, None, &map, claim, pdf, cap, now)
        .await
        .unwrap();
    assert_eq!(
        (offline.format, offline.source),
        (Format::Pdf, FileSource::Stored)
    );
    // An unstored document of a stored claim does not open offline.
    let ids: Vec<Uuid> = sqlx::query_scalar(
        "SELECT id FROM claimdesk.document WHERE claim_id = $1 AND id <> ALL($2)",
    )
    .bind(claim)
    .bind(vec![pdf, tiff])
    .fetch_all(&db.owner)
    .await
    .unwrap();
    if let Some(unstored) = ids.first() {
        assert!(matches!(
            documents::view(&desk.cache, None, &map, claim, *unstored, cap, now).await,
            Err(ViewError::NotStored)
        ));
    }
}

#[tokio::test]
async fn a_file_that_does_not_match_its_hash_or_its_type_is_refused_and_not_audited() {
    use claimdesk_core::document_file::FileProblem;
    use documents::ViewError;
    let mut db = support::seeded(40, 7, 10).await;
    let (claim, pdf, _) = claim_with_pdf_and_tiff(&db).await;
    let desk = support::desk(&mut db, "adjudicator").await;
    // Central sends bytes that are not what the hash says (the table's own
    // check is lifted to make the fault possible).
    sqlx::raw_sql(&format!(
        "ALTER TABLE claimdesk.document_content DROP CONSTRAINT document_content_addressed;
         UPDATE claimdesk.document_content SET content = content || '\\x00'::bytea
         WHERE sha256 = (SELECT sha256 FROM claimdesk.document WHERE id = '{pdf}')"
    ))
    .execute(&db.owner)
    .await
    .unwrap();
    assert!(matches!(
        view_online(&desk, claim, pdf).await,
        Err(ViewError::Integrity)
    ));
    assert_eq!(documents::stored_bytes(&desk.cache).await.unwrap(), 0);

    // A PDF cut off in transfer, recorded as a PDF: stored (it is what
    // central has) but not shown, and no view recorded.
    let cut = b"%PDF-1.4\n1 0 obj << /Type /Catalog".to_vec();
    let hash: Vec<u8> = Sha256::digest(&cut).to_vec();
    let id = Uuid::now_v7();
    sqlx::query("INSERT INTO claimdesk.document_content (sha256, content) VALUES ($1, $2)")
        .bind(&hash)
        .bind(&cut)
        .execute(&db.owner)
        .await
        .unwrap();
    sqlx::query(
        "INSERT INTO claimdesk.document (id, claim_id, document_type, file_name, mime_type, size_bytes, sha256)
         VALUES ($1, $2, 'correspondence', 'cut.pdf', 'application/pdf', $3, $4)",
    )
    .bind(id)
    .bind(claim)
    .bind(cut.len() as i64)
    .bind(&hash)
    .execute(&db.owner)
    .await
    .unwrap();
    assert!(matches!(
        view_online(&desk, claim, id).await,
        Err(ViewError::Unreadable(FileProblem::Truncated))
    ));
    let views = document_views(&claimdesk_local::outbox::entries(&desk.cache).await.unwrap());
    assert!(views.is_empty(), "{views:?}");
}

#[tokio::test]
async fn leased_claims_documents_are_prefetched_within_the_cap() {
    let mut db = support::seeded(200, 7, 20).await;
    let desk = support::desk(&mut db, "adjudicator").await;
    // Lease up to three queued claims with the most documents to this person.
    let leased: Vec<Uuid> = sqlx::query_scalar(
        "UPDATE claimdesk.queue_entry SET lease_holder = $1, leased_at = now(), lease_expires_at = now() + interval '1 hour'
         WHERE claim_id IN (SELECT d.claim_id FROM claimdesk.document d
                            JOIN claimdesk.queue_entry q ON q.claim_id = d.claim_id
                            GROUP BY d.claim_id ORDER BY count(*) DESC, d.claim_id LIMIT 3)
         RETURNING claim_id",
    )
    .bind(&desk.login)
    .fetch_all(&db.owner)
    .await
    .unwrap();
    assert!(!leased.is_empty());
    let (count, total, largest): (i64, i64, i64) = sqlx::query_as(
        "SELECT count(*), sum(size_bytes)::bigint, max(size_bytes) FROM claimdesk.document WHERE claim_id = ANY($1)",
    )
    .bind(&leased)
    .fetch_one(&db.owner)
    .await
    .unwrap();
    let now = Utc::now();
    let fetched =
        documents::prefetch_leased(&desk.cache, &desk.central, documents::DEFAULT_CAP, now)
            .await
            .unwrap();
    assert_eq!(fetched as i64, count);
    assert_eq!(
        documents::stored_bytes(&desk.cache).await.unwrap() as i64,
        total
    );
    // Nothing new the second time; a prefetch is not a view.
    let again = documents::prefetch_leased(&desk.cache, &desk.central, documents::DEFAULT_CAP, now)
        .await
        .unwrap();
    assert_eq!(again, 0);
    assert!(claimdesk_local::outbox::entries(&desk.cache)
        .await
        .unwrap()
        .is_empty());
    // A smaller cap trims the files on the next fetch.
    documents::evict_to(&desk.cache, 1).await.unwrap();
    assert!(count >= 2 && largest < total / 2);
    let cap = (total / 2) as u64;
    documents::prefetch_leased(&desk.cache, &desk.central, cap, now)
        .await
        .unwrap();
    let kept = documents::stored_bytes(&desk.cache).await.unwrap();
    assert!(kept > 0 && kept <= cap, "{kept} of cap {cap}");
}

#[tokio::test]
async fn attachments_are_checked_and_sent_and_exports_are_audited() {
    use claimdesk_core::sample_docs;
    use documents::{AttachError, ExportError};
    let mut db = support::seeded(40, 7, 10).await;
    let (claim, pdf, _) = claim_with_pdf_and_tiff(&db).await;
    let desk = support::desk(&mut db, "adjudicator").await;
    let now = Utc::now();
    let mut page = sample_docs::Page::default();
    page.text(40.0, 740.0, 12.0, false, "Reply to the request for records");
    let reply = sample_docs::pdf(&[page]).bytes;

    // Refused before anything is queued: a name that lies about the
    // content, an empty file, not a document, a claim form, too large.
    let jpeg = sample_docs::jpeg(&["CARD".into()]).bytes;
    let attach = |kind: &'static str, name: &'static str, bytes: Vec<u8>| {
        let cache = desk.cache.clone();
        async move { documents::attach(&cache, claim, Uuid::now_v7(), kind, name, bytes, now).await }
    };
    assert!(matches!(
        attach("correspondence", "reply.pdf", jpeg.clone()).await,
        Err(AttachError::NameMismatch {
            named: "application/pdf",
            found: "image/jpeg"
        })
    ));
    assert!(matches!(
        attach("correspondence", "reply.pdf", Vec::new()).await,
        Err(AttachError::Unreadable(
            claimdesk_core::document_file::FileProblem::Empty
        ))
    ));
    assert!(matches!(
        attach("other", "notes.txt", b"plain words".to_vec()).await,
        Err(AttachError::Unreadable(_))
    ));
    assert!(matches!(
        attach("cms1500", "form.pdf", reply.clone()).await,
        Err(AttachError::UnknownType)
    ));
    assert!(matches!(
        attach(
            "other",
            "huge.pdf",
            vec![b'%'; documents::MAX_ATTACHMENT + 1]
        )
        .await,
        Err(AttachError::TooLarge)
    ));
    assert_eq!(
        claimdesk_local::outbox::depth(&desk.cache).await.unwrap(),
        0
    );

    // A good one goes through the outbox and central keeps it, by hash.
    let attached = attach("correspondence", "C:\\scans\\reply.pdf", reply.clone())
        .await
        .unwrap();
    assert_eq!(attached.file_name, "reply.pdf");
    let report = claimdesk_local::outbox::push(&desk.cache, &desk.central, &map, Utc::now())
        .await
        .unwrap();
    assert_eq!(report.sent, 1, "{report:?}");
    let (name, hash): (String, Vec<u8>) = sqlx::query_as(
        "SELECT file_name, sha256 FROM claimdesk.document WHERE id = $1 AND claim_id = $2",
    )
    .bind(attached.id)
    .bind(claim)
    .fetch_one(&db.owner)
    .await
    .unwrap();
    assert_eq!(
        (name.as_str(), hash),
        ("reply.pdf", Sha256::digest(&reply).to_vec())
    );
    // Kept here too: it opens without fetching.
    let shown = view_online(&desk, claim, attached.id).await.unwrap();
    assert_eq!(shown.source, documents::FileSource::Stored);

    // Export: only a document on this computer; a private file, never
    // overwriting; the export is in the audit trail as its own action,
    // naming the member (from the claim, opened as the person would).
    claimdesk_local::detail::open_claim(&desk.cache, &desk.central, &map, claim, now)
        .await
        .unwrap();
    let out = tempfile::tempdir().unwrap();
    assert!(matches!(
        documents::export(&desk.cache, claim, pdf, "form.pdf", out.path(), now).await,
        Err(ExportError::NotStored)
    ));
    view_online(&desk, claim, pdf).await.unwrap();
    let first = documents::export(&desk.cache, claim, pdf, "form.pdf", out.path(), now)
        .await
        .unwrap();
    let second = documents::export(&desk.cache, claim, pdf, "form.pdf", out.path(), now)
        .await
        .unwrap();
    assert_eq!(first.file_name().unwrap(), "form.pdf");
    assert_eq!(second.file_name().unwrap(), "form (2).pdf");
    let content: Vec<u8> = sqlx::query_scalar(
        "SELECT c.content FROM claimdesk.document d JOIN claimdesk.document_content c USING (sha256) WHERE d.id = $1",
    )
    .bind(pdf)
    .fetch_one(&db.owner)
    .await
    .unwrap();
    assert_eq!(std::fs::read(&first).unwrap(), content);
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt as _;
        assert_eq!(
            std::fs::metadata(&first).unwrap().permissions().mode() & 0o777,
            0o600
        );
    }
    claimdesk_local::outbox::push(&desk.cache, &desk.central, &map, Utc::now())
        .await
        .unwrap();
    let exports: i64 = sqlx::query_scalar(
        "SELECT count(*) FROM claimdesk.audit_log WHERE action = 'export' AND resource_type = 'document'
         AND resource_id = $1 AND phi_accessed AND member_id IS NOT NULL",
    )
    .bind(pdf.to_string())
    .fetch_one(&db.owner)
    .await
    .unwrap();
    assert_eq!(exports, 2);
}

#[tokio::test]
async fn a_document_larger_than_the_cap_is_viewed_online_and_goes_once_off_screen() {
    use documents::FileSource;
    let mut db = support::seeded(40, 7, 10).await;
    let (claim, pdf, tiff) = claim_with_pdf_and_tiff(&db).await;
    let desk = support::desk(&mut db, "adjudicator").await;
    let now = Utc::now();
    // A cap of one byte: every file is larger than the whole cache.
    let viewed = documents::view(&desk.cache, Some(&desk.central), &map, claim, pdf, 1, now)
        .await
        .unwrap();
    assert_eq!(viewed.source, FileSource::Central);
    // The viewer reads the page after the command answered: still there.
    let (_, bytes) = documents::page(&desk.cache, pdf, None, now).await.unwrap();
    assert_eq!(bytes.len() as u64, viewed.size);
    // A background trim (the prefetch's) leaves what is on screen alone.
    documents::evict_to(&desk.cache, 1).await.unwrap();
    assert!(documents::open(&desk.cache, pdf, now)
        .await
        .unwrap()
        .is_some());
    // Opening the next one keeps both while both are open.
    documents::view(&desk.cache, Some(&desk.central), &map, claim, tiff, 1, now)
        .await
        .unwrap();
    assert!(documents::open(&desk.cache, pdf, now)
        .await
        .unwrap()
        .is_some());
    // Locked or signed out: nothing is on screen, and the cap applies again.
    desk.cache.nothing_on_screen();
    assert_eq!(documents::evict_to(&desk.cache, 1).await.unwrap(), 2);
    assert_eq!(documents::stored_bytes(&desk.cache).await.unwrap(), 0);
}
