//! The supervisor's audit trail on real PostgreSQL: every filter against
//! the rows it should keep, keyset pages that cover the trail once, newest
//! first, an entry's values, the per-member access report, and the CSV
//! export (rows and hashes as stored) recorded as an event of its own.

mod common;

use chrono::{Duration, Utc};
use claimdesk_core::audit_trail::{self, AuditFilter};
use claimdesk_core::users::StaffRole;
use common::TestDb;
use uuid::Uuid;

async fn seqs(conn: &mut sqlx::PgConnection, filter: &AuditFilter) -> Vec<i32> {
    let mut all = Vec::new();
    let mut before = None;
    loop {
        let page = audit_trail::page(conn, filter, before, 2).await.unwrap();
        assert!(page.entries.len() <= 2);
        all.extend(page.entries.iter().map(|e| e.seq));
        match page.next_before {
            Some(b) => before = Some(b),
            None => break,
        }
    }
    all
}

async fn expected(db: &TestDb, condition: &str) -> Vec<i32> {
    sqlx::query_scalar(&format!(
        "SELECT seq::int FROM claimdesk.audit_log WHERE {condition} ORDER BY seq DESC"
    ))
    .fetch_all(&db.owner)
    .await
    .unwrap()
}

#[tokio::test]
async fn the_trail_filters_pages_reports_and_exports() {
    let mut db = TestDb::new().await;
    let adjudicator = db.login("adjudicator").await;
    let supervisor = db.login("supervisor").await;
    let (m1, m2, c1, p1) = (
        Uuid::new_v4(),
        Uuid::new_v4(),
        Uuid::new_v4(),
        Uuid::new_v4(),
    );
    for _ in 0..3 {
        sqlx::query("SELECT claimdesk.record_phi_view('claim', $1::text, $2)")
            .bind(c1)
            .bind(m1)
            .execute(&adjudicator)
            .await
            .unwrap();
    }
    for _ in 0..2 {
        sqlx::query("SELECT claimdesk.record_phi_view('member', $1::text, $1)")
            .bind(m2)
            .execute(&supervisor)
            .await
            .unwrap();
    }
    let note = Uuid::new_v4();
    sqlx::query("SELECT claimdesk.audit_append('insert', 'claim_note', $1::text, $2, true, NULL, jsonb_build_object('claim_id', $3::text))")
        .bind(note)
        .bind(m1)
        .bind(c1)
        .execute(&db.owner)
        .await
        .unwrap();
    sqlx::query("SELECT claimdesk.audit_append('update', 'provider_credential', gen_random_uuid()::text, NULL, false, jsonb_build_object('status', 'pending', 'provider_id', $1::text), jsonb_build_object('status', 'verified', 'provider_id', $1::text))")
        .bind(p1)
        .execute(&db.owner)
        .await
        .unwrap();
    let adjudicator_login: String = sqlx::query_scalar("SELECT current_user::text")
        .fetch_one(&adjudicator)
        .await
        .unwrap();
    let supervisor_login: String = sqlx::query_scalar("SELECT current_user::text")
        .fetch_one(&supervisor)
        .await
        .unwrap();

    let mut conn = supervisor.acquire().await.unwrap();
    // Keyset pages cover the whole trail once, newest first.
    assert_eq!(
        seqs(&mut conn, &AuditFilter::default()).await,
        expected(&db, "true").await
    );
    let cases: Vec<(AuditFilter, String)> = vec![
        (
            AuditFilter { user: Some(adjudicator_login.clone()), ..Default::default() },
            format!("db_user = '{adjudicator_login}'"),
        ),
        (
            AuditFilter { role: Some(StaffRole::Supervisor), ..Default::default() },
            "db_role = 'claimdesk_supervisor'".into(),
        ),
        (
            AuditFilter { member_id: Some(m1), ..Default::default() },
            format!("member_id = '{m1}'"),
        ),
        (
            AuditFilter { claim_id: Some(c1), ..Default::default() },
            format!("(resource_type = 'claim' AND resource_id = '{c1}') OR new_values ->> 'claim_id' = '{c1}'"),
        ),
        (
            AuditFilter { provider_id: Some(p1), ..Default::default() },
            format!("new_values ->> 'provider_id' = '{p1}'"),
        ),
        (
            AuditFilter { action: Some("view".into()), phi_only: true, ..Default::default() },
            "action = 'view' AND phi_accessed".into(),
        ),
        (
            AuditFilter {
                from: Some(Utc::now() - Duration::hours(1)),
                to: Some(Utc::now() + Duration::hours(1)),
                member_id: Some(m2),
                ..Default::default()
            },
            format!("member_id = '{m2}'"),
        ),
        (
            AuditFilter { to: Some(Utc::now() - Duration::days(1)), ..Default::default() },
            "false".into(),
        ),
        (
            AuditFilter { client: Some("no such client".into()), ..Default::default() },
            "false".into(),
        ),
        (
            AuditFilter { client: Some("%".into()), ..Default::default() },
            "client_info::text LIKE '%\\%%'".into(),
        ),
    ];
    for (filter, condition) in cases {
        let want = expected(&db, &condition).await;
        assert_eq!(seqs(&mut conn, &filter).await, want, "{filter:?}");
    }
    // The claim filter catches the claim's own events and its rows'.
    assert_eq!(
        seqs(
            &mut conn,
            &AuditFilter {
                claim_id: Some(c1),
                ..Default::default()
            }
        )
        .await
        .len(),
        4
    );

    // An entry with its values.
    let seq: i32 =
        sqlx::query_scalar("SELECT seq::int FROM claimdesk.audit_log WHERE resource_id = $1")
            .bind(note.to_string())
            .fetch_one(&db.owner)
            .await
            .unwrap();
    let detail = audit_trail::detail(&mut conn, seq).await.unwrap().unwrap();
    assert_eq!(detail.entry.resource_type, "claim_note");
    assert!(detail.new_values.unwrap().contains(&c1.to_string()));
    assert!(detail.lane.is_some() && detail.lane_seq.is_some());

    // Who viewed or changed m1's data.
    let access = audit_trail::member_access(&mut conn, m1).await.unwrap();
    let by = |u: &str| access.iter().find(|a| a.db_user == u).unwrap().clone();
    let adj = by(&adjudicator_login);
    assert_eq!((adj.views, adj.changes, adj.other), (3, 0, 0));
    assert_eq!(access.iter().map(|a| a.changes).sum::<i32>(), 1);
    assert!(adj.first_at <= adj.last_at);

    // The export: the member's rows as stored, then recorded.
    let filter = AuditFilter {
        member_id: Some(m1),
        ..Default::default()
    };
    let mut out = Vec::new();
    let rows = audit_trail::export_csv(&mut conn, &filter, &mut out)
        .await
        .unwrap();
    assert_eq!(rows, 4);
    let mut csv = csv::Reader::from_reader(out.as_slice());
    assert_eq!(
        csv.headers().unwrap().iter().collect::<Vec<_>>(),
        audit_trail::CSV_HEADER
    );
    let hashes: Vec<String> = sqlx::query_scalar(
        "SELECT encode(row_hash, 'hex') FROM claimdesk.audit_log WHERE member_id = $1 ORDER BY seq",
    )
    .bind(m1)
    .fetch_all(&db.owner)
    .await
    .unwrap();
    let exported: Vec<String> = csv.records().map(|r| r.unwrap()[12].to_string()).collect();
    assert_eq!(exported, hashes);
    audit_trail::record_export(&mut conn, &filter, rows, "audit-m1.csv")
        .await
        .unwrap();
    let (user, member, phi, values): (String, Option<Uuid>, bool, String) = sqlx::query_as(
        "SELECT db_user, member_id, phi_accessed, new_values::text FROM claimdesk.audit_log
         WHERE action = 'export' AND resource_type = 'audit_log' ORDER BY seq DESC LIMIT 1",
    )
    .fetch_one(&db.owner)
    .await
    .unwrap();
    assert_eq!((user, member, phi), (supervisor_login, Some(m1), true));
    assert!(
        values.contains("audit-m1.csv") && values.contains(&m1.to_string()),
        "{values}"
    );
    drop(conn);

    // An adjudicator may not read the trail.
    let mut conn = adjudicator.acquire().await.unwrap();
    let refused = audit_trail::page(&mut conn, &AuditFilter::default(), None, 10).await;
    assert!(refused.is_err());
    drop(conn);
    db.cleanup().await;
}
