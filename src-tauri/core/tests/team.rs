//! The supervisor's team work on real PostgreSQL: live leases listed,
//! released and reassigned (audited, supervisors only), and claims routed
//! above authority approved or returned with a note.

mod common;

use chrono::Utc;
use claimdesk_core::team;
use uuid::Uuid;

async fn holder(conn: &mut sqlx::PgConnection, claim: Uuid) -> Option<String> {
    sqlx::query_scalar("SELECT lease_holder FROM claimdesk.queue_entry WHERE claim_id = $1")
        .bind(claim)
        .fetch_one(conn)
        .await
        .unwrap()
}

#[tokio::test]
async fn leases_are_listed_released_and_reassigned_and_routed_claims_decided() {
    let mut db = common::seeded(300, 5, 20).await;
    let adjudicator = db.login("adjudicator").await;
    let other = db.login("adjudicator").await;
    let supervisor = db.login("supervisor").await;
    let login = |p: &sqlx::PgPool| {
        let p = p.clone();
        async move {
            sqlx::query_scalar::<_, String>("SELECT current_user::text")
                .fetch_one(&p)
                .await
                .unwrap()
        }
    };
    let (who, other_login, boss) = (
        login(&adjudicator).await,
        login(&other).await,
        login(&supervisor).await,
    );
    let claim: Uuid = sqlx::query_scalar("SELECT claim_id FROM claimdesk.claim_checkout()")
        .fetch_one(&adjudicator)
        .await
        .unwrap();

    let mut conn = supervisor.acquire().await.unwrap();
    let leases = team::leases(&mut conn, Utc::now()).await.unwrap();
    let lease = leases
        .iter()
        .find(|l| l.claim_id == claim)
        .expect("the checkout is listed");
    assert_eq!(lease.holder, who);
    assert!(lease.expires_at > lease.leased_at);
    let people = team::adjudicators(&mut conn).await.unwrap();
    assert!(people.contains(&who) && people.contains(&other_login) && people.contains(&boss));

    // Reassigned, then released; each an audit event by the supervisor.
    team::reassign(&mut conn, claim, Some(&other_login))
        .await
        .unwrap();
    assert_eq!(holder(&mut conn, claim).await, Some(other_login.clone()));
    team::reassign(&mut conn, claim, None).await.unwrap();
    assert_eq!(holder(&mut conn, claim).await, None);
    assert!(team::leases(&mut conn, Utc::now())
        .await
        .unwrap()
        .iter()
        .all(|l| l.claim_id != claim));
    let events: Vec<(String, Option<String>)> = sqlx::query_as(
        "SELECT db_user, new_values ->> 'lease_holder' FROM claimdesk.audit_log
         WHERE action = 'reassign' AND resource_id = $1 ORDER BY seq",
    )
    .bind(claim.to_string())
    .fetch_all(&db.owner)
    .await
    .unwrap();
    assert_eq!(
        events,
        vec![
            (boss.clone(), Some(other_login.clone())),
            (boss.clone(), None)
        ]
    );
    // An adjudicator may not move someone else's claim.
    let mut adj = adjudicator.acquire().await.unwrap();
    assert!(team::reassign(&mut adj, claim, Some(&who)).await.is_err());

    // Two claims routed above authority: one approved, one returned.
    let routed: Vec<Uuid> = sqlx::query_scalar(
        "UPDATE claimdesk.claim SET requires_approval = true, approved_by = NULL, approved_at = NULL,
                adjudicated_by = $1, adjudicated_at = now()
         WHERE id IN (SELECT id FROM claimdesk.claim WHERE status = 'approved' ORDER BY id LIMIT 2) RETURNING id",
    )
    .bind(&who)
    .fetch_all(&db.owner)
    .await
    .unwrap();
    assert_eq!(routed.len(), 2, "seed 5 has approved claims");
    let waiting = team::routed(&mut conn).await.unwrap();
    for id in &routed {
        let c = waiting
            .iter()
            .find(|c| c.claim_id == *id)
            .expect("routed claim listed");
        assert_eq!(c.adjudicated_by.as_deref(), Some(who.as_str()));
        assert!(c.authority_limit.is_some());
    }
    assert!(team::decide_routed(&mut conn, routed[0], true, "  ")
        .await
        .is_err());
    team::decide_routed(&mut conn, routed[0], true, "Checked the operative report.")
        .await
        .unwrap();
    team::decide_routed(
        &mut conn,
        routed[1],
        false,
        "Units look doubled; recheck line 2.",
    )
    .await
    .unwrap();
    let (approved_by, status0): (Option<String>, String) =
        sqlx::query_as("SELECT approved_by, status FROM claimdesk.claim WHERE id = $1")
            .bind(routed[0])
            .fetch_one(&db.owner)
            .await
            .unwrap();
    assert_eq!(
        (approved_by.as_deref(), status0.as_str()),
        (Some(boss.as_str()), "approved")
    );
    let status1: String = sqlx::query_scalar("SELECT status FROM claimdesk.claim WHERE id = $1")
        .bind(routed[1])
        .fetch_one(&db.owner)
        .await
        .unwrap();
    assert_eq!(status1, "in_review");
    let notes: Vec<String> = sqlx::query_scalar(
        "SELECT body FROM claimdesk.claim_note WHERE claim_id = ANY($1) AND author = $2 ORDER BY body",
    )
    .bind(&routed)
    .bind(&boss)
    .fetch_all(&db.owner)
    .await
    .unwrap();
    assert_eq!(
        notes,
        vec![
            "Approved for payment: Checked the operative report.".to_string(),
            "Returned for review: Units look doubled; recheck line 2.".to_string()
        ]
    );
    assert!(team::routed(&mut conn)
        .await
        .unwrap()
        .iter()
        .all(|c| !routed.contains(&c.claim_id)));
    drop((conn, adj));
    db.cleanup().await;
}
