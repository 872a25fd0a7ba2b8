//! LEIE import against real PostgreSQL: the list kept, the difference from
//! the previous import, providers flagged by NPI or by name and state, their
//! open claims pended with a reason, all audited under the importing login;
//! a bad file imports nothing; only credentialing staff and admins import.

mod common;

use claimdesk_core::leie::{self, ImportError, LeieError};
use claimdesk_core::ErrorCode;
use common::TestDb;
use uuid::Uuid;

const HEAD: &str = "LASTNAME,FIRSTNAME,MIDNAME,BUSNAME,GENERAL,SPECIALTY,UPIN,NPI,DOB,ADDRESS,CITY,STATE,ZIP,EXCLTYPE,EXCLDATE,REINDATE,WAIVERDATE,WVRSTATE";

/// Two providers with open claims: one to match by NPI, one (an individual)
/// by name and state.
async fn targets(db: &TestDb) -> ((Uuid, String), (Uuid, String, String, String)) {
    /// id, NPI, last name, first name, state
    type Row = (Uuid, String, Option<String>, Option<String>, Option<String>);
    let rows: Vec<Row> = sqlx::query_as(
        "SELECT p.id, p.npi, p.last_name, p.first_name, p.state FROM claimdesk.provider p
         WHERE p.entity_type = 'individual' AND NOT p.excluded AND p.state IS NOT NULL
           AND EXISTS (SELECT FROM claimdesk.claim c WHERE c.provider_id = p.id AND c.status IN ('received', 'in_review'))
         ORDER BY p.npi LIMIT 2",
    )
    .fetch_all(&db.owner)
    .await
    .unwrap();
    assert_eq!(
        rows.len(),
        2,
        "the seed has two individuals with open claims"
    );
    let a = (rows[0].0, rows[0].1.clone());
    let b = &rows[1];
    (
        a,
        (
            b.0,
            b.2.clone().unwrap(),
            b.3.clone().unwrap(),
            b.4.clone().unwrap(),
        ),
    )
}

async fn open_claims(db: &TestDb, provider: Uuid) -> i64 {
    sqlx::query_scalar(
        "SELECT count(*) FROM claimdesk.claim WHERE provider_id = $1 AND status IN ('received', 'in_review', 'appealed')",
    )
    .bind(provider)
    .fetch_one(&db.owner)
    .await
    .unwrap()
}

#[tokio::test]
async fn an_import_flags_named_providers_pends_their_claims_and_diffs_the_next() {
    let mut db = common::seeded(400, 7, 30).await;
    let ((a, a_npi), (b, b_last, b_first, b_state)) = targets(&db).await;
    let (a_open, b_open) = (open_claims(&db, a).await, open_claims(&db, b).await);
    assert!(a_open > 0 && b_open > 0);
    let credentialing = db.login("credentialing").await;
    let login: String = sqlx::query_scalar("SELECT current_user::text")
        .fetch_one(&credentialing)
        .await
        .unwrap();

    let first = format!(
        "{HEAD}\n\
         SOMEONE,ELSE,,,IND- LIC HC SERV PRO,NURSE,,{a_npi},19700101,1 MAIN ST,TULSA,OK,74101,1128b4,20240115,00000000,00000000,\n\
         {b_last},{b_first},,,IND- LIC HC SERV PRO,PHYSICIAN,,0000000000,,,,{b_state},,1128a1,20230301,,,\n\
         GONE,LATER,,,,,,,,,,ZZ,,1128a2,20200101,,,\n"
    );
    let mut rows = Vec::new();
    let report = leie::import(
        &mut credentialing.acquire().await.unwrap(),
        first.as_bytes(),
        Uuid::new_v4(),
        |p| rows.push(p),
    )
    .await
    .unwrap();
    // Every stage is heard, in order, and reading counts the file's rows.
    let stages: Vec<leie::ImportStage> = rows.iter().map(|p| p.stage).collect();
    assert_eq!(
        stages.first(),
        Some(&leie::ImportStage::Reading),
        "{stages:?}"
    );
    assert!(rows.contains(&leie::ImportProgress {
        stage: leie::ImportStage::Reading,
        done: 3,
        total: 3
    }));
    assert!(stages.contains(&leie::ImportStage::Storing));
    assert!(stages.contains(&leie::ImportStage::Screening));
    assert_eq!(
        rows.last(),
        Some(&leie::ImportProgress {
            stage: leie::ImportStage::Done,
            done: 3,
            total: 3
        })
    );
    assert_eq!((report.entries, report.new_exclusions), (3, 3));
    assert!(report.reinstated.is_empty());
    let mut flagged: Vec<(Uuid, &str, u32)> = report
        .flagged
        .iter()
        .map(|f| (f.provider_id, f.matched_by.as_str(), f.claims_pended))
        .collect();
    flagged.sort();
    let mut expected = vec![(a, "npi", a_open as u32), (b, "name_state", b_open as u32)];
    expected.sort();
    assert_eq!(flagged, expected);

    // Flagged, pended with the reason, in the history and the audit trail.
    for p in [a, b] {
        let (excluded, source): (bool, Option<String>) = sqlx::query_as(
            "SELECT excluded, exclusion_source FROM claimdesk.provider WHERE id = $1",
        )
        .bind(p)
        .fetch_one(&db.owner)
        .await
        .unwrap();
        assert!(excluded && source.as_deref() == Some("oig_leie"));
        assert_eq!(open_claims(&db, p).await, 0);
    }
    let pended: i64 = sqlx::query_scalar(
        "SELECT count(*) FROM claimdesk.claim c JOIN claimdesk.claim_status_history h ON h.claim_id = c.id
         WHERE c.provider_id = $1 AND c.pend_reason = 'provider_excluded' AND h.to_status = 'pended'
           AND h.reason LIKE 'Provider excluded: OIG LEIE 1128b4%' AND h.changed_by = $2",
    )
    .bind(a)
    .bind(&login)
    .fetch_one(&db.owner)
    .await
    .unwrap();
    assert_eq!(pended, a_open);
    let audited: i64 = sqlx::query_scalar(
        "SELECT count(*) FROM claimdesk.audit_log WHERE db_user = $1 AND action = 'update'
         AND resource_type IN ('provider', 'claim')",
    )
    .bind(&login)
    .fetch_one(&db.owner)
    .await
    .unwrap();
    assert!(audited >= 2 + a_open + b_open, "{audited}");
    let unscreened: i64 = sqlx::query_scalar(
        "SELECT count(*) FROM claimdesk.provider WHERE exclusion_checked_at IS NULL",
    )
    .fetch_one(&db.owner)
    .await
    .unwrap();
    assert_eq!(unscreened, 0);

    // Next month: one entry gone (reinstated), one new; the flagged stay flagged.
    let second = format!(
        "{HEAD}\n\
         SOMEONE,ELSE,,,IND- LIC HC SERV PRO,NURSE,,{a_npi},19700101,1 MAIN ST,TULSA,OK,74101,1128b4,20240115,00000000,00000000,\n\
         {b_last},{b_first},,,IND- LIC HC SERV PRO,PHYSICIAN,,0000000000,,,,{b_state},,1128a1,20230301,,,\n\
         ,,,\"NEW CLINIC, LLC\",BUSINESS,CLINIC,,,,,,ZZ,,1128b7,20261101,,,\n"
    );
    let report = leie::import(
        &mut credentialing.acquire().await.unwrap(),
        second.as_bytes(),
        Uuid::new_v4(),
        |_| (),
    )
    .await
    .unwrap();
    assert_eq!(report.new_exclusions, 1);
    assert_eq!(
        report.reinstated,
        vec!["GONE, LATER (ZZ), 1128a2, 2020-01-01".to_string()]
    );
    assert!(report
        .flagged
        .iter()
        .all(|f| !f.newly_flagged && f.claims_pended == 0));

    // A bad file: nothing imported.
    let owner = db.owner.clone();
    let imports = || async {
        sqlx::query_scalar::<_, i64>("SELECT count(*) FROM claimdesk.leie_import")
            .fetch_one(&owner)
            .await
            .unwrap()
    };
    let before = imports().await;
    let bad = format!("{HEAD}\nDOE,JANE,,,,,,,,,,TX,,1128a1,15-01-2024,,,\n");
    assert!(matches!(
        leie::import(
            &mut credentialing.acquire().await.unwrap(),
            bad.as_bytes(),
            Uuid::new_v4(),
            |_| ()
        )
        .await,
        Err(ImportError::File(LeieError::Row { line: 2, .. }))
    ));
    assert_eq!(imports().await, before);

    // An adjudicator may not import.
    let adjudicator = db.login("adjudicator").await;
    let refused = leie::import(
        &mut adjudicator.acquire().await.unwrap(),
        first.as_bytes(),
        Uuid::new_v4(),
        |_| (),
    )
    .await;
    match refused {
        Err(ImportError::Central(e)) => {
            assert_eq!(common::error_code(e), ErrorCode::PermissionDenied)
        }
        other => panic!("{other:?}"),
    }
    assert_eq!(imports().await, before);
}
