//! The supervisor's intake room on real PostgreSQL: a file's batch listed
//! with its sender and counts (live while it is still being read), its sets
//! and rejected claims with the reason, its answers readable segment by
//! segment with each reading a PHI view in the trail, pages of batches, and
//! none of it open to an adjudicator.

mod common;

use chrono::{TimeZone, Utc};
use claimdesk_core::intake::{self, IntakeOptions};
use claimdesk_core::intake_batches::{self, BatchCursor};
use claimdesk_core::x12::model::ClaimKind;
use claimdesk_core::ErrorCode;
use common::x12::{claim, file, line};
use common::{error_code, fixture, TestDb};
use rust_decimal::Decimal;
use uuid::Uuid;

#[tokio::test]
async fn supervisors_see_each_batch_its_rejections_and_its_answers() {
    let mut db = TestDb::new().await;
    let f = fixture(&db.owner).await;
    let member: String =
        sqlx::query_scalar("SELECT member_number FROM claimdesk.member WHERE id = $1")
            .bind(f.subscriber)
            .fetch_one(&db.owner)
            .await
            .unwrap();
    let dir = tempfile::tempdir().unwrap();
    // Three claims in two sets: two taken, one for a member nobody has.
    let one = |account: &str, member: &str, charge: &str| {
        claim(account, member, vec![line("99213", charge, "2025-02-10")])
    };
    let path = file(
        dir.path(),
        "clearinghouse-0001.837",
        101,
        ClaimKind::Professional,
        &[
            one("ACCT-1", &member, "100.00"),
            one("ACCT-2", "NOSUCH123", "55.00"),
            one("ACCT-3", &member, "80.25"),
        ],
    );
    let options = IntakeOptions {
        now: Utc.with_ymd_and_hms(2025, 3, 10, 14, 0, 0).unwrap(),
        ..IntakeOptions::default()
    };
    let report = intake::intake_file(&db.owner, &path, &options, |_, _| {})
        .await
        .unwrap();
    let batch_id = report.batch_id.unwrap();
    // The same interchange again, in a file of another name and bytes: a TA1
    // 025 and a batch of its own, with no interchange row to name its sender.
    let again = dir.path().join("resent.837");
    std::fs::write(
        &again,
        std::fs::read_to_string(&path).unwrap().replace('~', "~\n"),
    )
    .unwrap();
    let resent = intake::intake_file(&db.owner, &again, &options, |_, _| {})
        .await
        .unwrap()
        .batch_id
        .unwrap();

    let supervisor = db.login("supervisor").await;
    let mut conn = supervisor.acquire().await.unwrap();
    let page = intake_batches::batches(&mut conn, None, 50).await.unwrap();
    assert_eq!(page.next, None);
    assert_eq!(
        page.batches.iter().map(|b| b.id).collect::<Vec<_>>(),
        // Same received time: the larger id first.
        {
            let mut ids = vec![batch_id, resent];
            ids.sort_by(|a, b| b.cmp(a));
            ids
        }
    );
    let batch = page.batches.iter().find(|b| b.id == batch_id).unwrap();
    assert_eq!(batch.file_name, "clearinghouse-0001.837");
    assert_eq!(batch.senders, ["CLEARHOUSE01"]);
    assert_eq!(batch.status, "complete");
    assert_eq!((batch.sets_received, batch.sets_accepted), (2, 2));
    assert_eq!((batch.claims_accepted, batch.claims_rejected), (2, 1));
    assert_eq!(batch.amount_accepted, "180.25".parse::<Decimal>().unwrap());
    assert_eq!(batch.bytes_read, batch.file_bytes);
    assert_eq!(batch.duplicates, 0);
    let dup = page.batches.iter().find(|b| b.id == resent).unwrap();
    assert_eq!(
        dup.senders,
        ["CLEARHOUSE01"],
        "named from the TA1 sent back"
    );
    assert_eq!((dup.duplicates, dup.claims_accepted), (1, 0));

    let detail = intake_batches::batch_detail(&mut conn, batch_id)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(detail.interchanges.len(), 1);
    assert_eq!(detail.interchanges[0].control_number, "000000101");
    assert_eq!(detail.sets.len(), 2);
    assert!(detail.sets.iter().all(|s| s.accepted));
    assert_eq!(
        detail
            .sets
            .iter()
            .map(|s| (s.claims_accepted, s.claims_rejected))
            .collect::<Vec<_>>(),
        [(1, 1), (1, 0)]
    );
    assert_eq!(detail.rejected_total, 1);
    let r = &detail.rejected[0];
    assert_eq!(r.patient_account, "ACCT-2");
    assert_eq!(r.charge, "55.00".parse::<Decimal>().unwrap());
    assert_eq!(r.reason.as_deref(), Some("member_not_found"));
    assert!(r.explanation.as_deref().unwrap().contains("no member"));
    assert_eq!(
        detail
            .answers
            .iter()
            .map(|a| a.kind.as_str())
            .collect::<Vec<_>>(),
        ["999", "277CA"]
    );
    assert!(intake_batches::batch_detail(&mut conn, Uuid::new_v4())
        .await
        .unwrap()
        .is_none());

    // The 277CA, two segments at a time; every reading is a PHI view.
    let views = || async {
        sqlx::query_scalar::<_, i64>(
            "SELECT count(*) FROM claimdesk.audit_log
             WHERE action = 'view' AND resource_type = 'intake_ack' AND phi_accessed",
        )
        .fetch_one(&db.owner)
        .await
        .unwrap()
    };
    assert_eq!(views().await, 0);
    let ca = detail.answers.iter().find(|a| a.kind == "277CA").unwrap();
    let head = intake_batches::answer(&mut conn, ca.id, 0, 2)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(head.segments.len(), 2);
    assert!(head.segments[0].starts_with("ISA*") && head.segments[0].ends_with('~'));
    assert!(head.segments[1].starts_with("GS*HN*"));
    let all = intake_batches::answer(&mut conn, ca.id, 0, 5_000)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(all.total_segments as usize, all.segments.len());
    assert!(all.segments.last().unwrap().starts_with("IEA*"));
    assert!(
        all.segments.iter().any(|s| s.starts_with("STC*A7:164")),
        "the rejected claim's status is in the 277CA"
    );
    let tail = intake_batches::answer(&mut conn, ca.id, all.total_segments - 1, 10)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(tail.segments, [all.segments.last().unwrap().clone()]);
    assert_eq!(views().await, 3);
    let who: String = sqlx::query_scalar(
        "SELECT db_user FROM claimdesk.audit_log WHERE resource_type = 'intake_ack' LIMIT 1",
    )
    .fetch_one(&db.owner)
    .await
    .unwrap();
    let me: String = sqlx::query_scalar("SELECT current_user::text")
        .fetch_one(&mut *conn)
        .await
        .unwrap();
    assert_eq!(who, me);

    // A file still being read: its counts come from the sets written so far.
    sqlx::query(
        "UPDATE claimdesk.intake_batch SET status = 'receiving', claims_accepted = 0,
             claims_rejected = 0, amount_accepted = 0, bytes_read = file_bytes / 2
         WHERE id = $1",
    )
    .bind(batch_id)
    .execute(&db.owner)
    .await
    .unwrap();
    let live = intake_batches::batch_detail(&mut conn, batch_id)
        .await
        .unwrap()
        .unwrap()
        .batch;
    assert_eq!(live.status, "receiving");
    assert_eq!((live.claims_accepted, live.claims_rejected), (2, 1));
    assert_eq!(live.amount_accepted, "180.25".parse::<Decimal>().unwrap());
    assert_eq!(live.bytes_read, (live.file_bytes as i64 / 2) as f64);

    // Pages: older batches after the cursor, none twice.
    for n in 0..3 {
        sqlx::query(
            "INSERT INTO claimdesk.intake_batch (id, file_name, file_sha256, file_bytes, received_at, status)
             VALUES ($1, $2, sha256($2::bytea), 10, $3, 'rejected')",
        )
        .bind(Uuid::new_v4())
        .bind(format!("old-{n}.txt"))
        .bind(Utc.with_ymd_and_hms(2025, 1, 1 + n, 9, 0, 0).unwrap())
        .execute(&db.owner)
        .await
        .unwrap();
    }
    let first = intake_batches::batches(&mut conn, None, 2).await.unwrap();
    assert_eq!(first.batches.len(), 2);
    let mut seen: Vec<Uuid> = first.batches.iter().map(|b| b.id).collect();
    let mut next: Option<BatchCursor> = first.next;
    while let Some(cursor) = next {
        let page = intake_batches::batches(&mut conn, Some(cursor), 2)
            .await
            .unwrap();
        seen.extend(page.batches.iter().map(|b| b.id));
        next = page.next;
    }
    assert_eq!(seen.len(), 5);
    seen.sort();
    seen.dedup();
    assert_eq!(seen.len(), 5);
    let last = intake_batches::batches(&mut conn, None, 200).await.unwrap();
    assert_eq!(last.batches.last().unwrap().file_name, "old-0.txt");

    // Adjudicators do not read intake.
    let adjudicator = db.login("adjudicator").await;
    let mut theirs = adjudicator.acquire().await.unwrap();
    let refused = intake_batches::batches(&mut theirs, None, 10)
        .await
        .unwrap_err();
    assert_eq!(error_code(refused), ErrorCode::PermissionDenied);
    let refused = intake_batches::answer(&mut theirs, ca.id, 0, 10)
        .await
        .unwrap_err();
    assert_eq!(error_code(refused), ErrorCode::PermissionDenied);
    drop((conn, theirs));
    db.cleanup().await;
}
