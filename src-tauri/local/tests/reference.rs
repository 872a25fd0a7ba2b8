//! Reference records by role, against a real PostgreSQL.

mod support;

use chrono::Utc;
use claimdesk_local::reference::{self, pull_reference, ReferencePlan};
use claimdesk_local::sync::{self, PullLimits};
use support::common::TestDb;

async fn count(db: &TestDb, table: &str) -> usize {
    let n: i64 = sqlx::query_scalar(&format!("SELECT count(*) FROM claimdesk.{table}"))
        .fetch_one(&db.owner)
        .await
        .unwrap();
    n as usize
}

#[tokio::test]
async fn each_role_gets_what_its_screens_need_and_changes_follow() {
    let mut db = support::seeded(100, 3, 25).await;
    let kc = support::keychain().await;

    // Credentialing: providers and credentials, no claims, no plans.
    let credentialing = db.login("credentialing").await;
    let login: String = sqlx::query_scalar("SELECT current_user::text")
        .fetch_one(&credentialing)
        .await
        .unwrap();
    let dir = tempfile::tempdir().unwrap();
    let owner = support::owner(&login);
    let (cache, _) = support::open(dir.path(), &owner, &kc).await;
    let queue = sync::pull_queue(
        &cache,
        &credentialing,
        PullLimits::default(),
        Utc::now(),
        &mut |_| {},
    )
    .await
    .unwrap();
    assert_eq!(queue, sync::PullReport::default());
    assert_eq!(
        cache.queue_len().await.unwrap(),
        0,
        "no claims for credentialing"
    );
    let plan = ReferencePlan::discover(&credentialing).await.unwrap();
    let report = pull_reference(&cache, &credentialing, &plan, 10, Utc::now())
        .await
        .unwrap();
    assert!(!report.contains_key("plan"), "{report:?}");
    for table in [
        "provider",
        "provider_credential",
        "credential_verification",
        "contract",
        "fee_schedule",
    ] {
        assert_eq!(
            reference::records(&cache, table).await.unwrap().len(),
            count(&db, table).await,
            "{table}"
        );
    }
    let providers = reference::records(&cache, "provider").await.unwrap();
    assert!(providers
        .iter()
        .all(|(_, p)| p.get("tax_id_ciphertext").is_none() && p.get("npi").is_some()));

    // A change on central follows; nothing else is re-applied.
    let (id, specialty): (uuid::Uuid, String) =
        sqlx::query_as("SELECT id, specialty FROM claimdesk.provider WHERE specialty IS NOT NULL ORDER BY id LIMIT 1")
            .fetch_one(&db.owner)
            .await
            .unwrap();
    sqlx::query("UPDATE claimdesk.provider SET specialty = specialty || ' and Sports Medicine' WHERE id = $1")
        .bind(id)
        .execute(&db.owner)
        .await
        .unwrap();
    let mut seen = false;
    for _ in 0..300 {
        let r = pull_reference(&cache, &credentialing, &plan, 10, Utc::now())
            .await
            .unwrap();
        if r.get("provider") == Some(&1) {
            seen = true;
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    }
    assert!(seen, "the provider change arrived");
    let providers = reference::records(&cache, "provider").await.unwrap();
    let changed = providers.iter().find(|(pid, _)| *pid == id).unwrap();
    assert_eq!(
        changed.1["specialty"],
        format!("{specialty} and Sports Medicine")
    );
    assert_eq!(
        support::found_on_disk(dir.path(), &format!("{specialty} and Sports Medicine")),
        None,
        "sealed on disk"
    );
    cache.wipe(&owner, &kc).await.unwrap();

    // Adjudicators also get the plans and benefits the engine prices with.
    let adjudicator = db.login("adjudicator").await;
    let login: String = sqlx::query_scalar("SELECT current_user::text")
        .fetch_one(&adjudicator)
        .await
        .unwrap();
    let dir = tempfile::tempdir().unwrap();
    let owner = support::owner(&login);
    let (cache, _) = support::open(dir.path(), &owner, &kc).await;
    let plan = ReferencePlan::discover(&adjudicator).await.unwrap();
    pull_reference(&cache, &adjudicator, &plan, 500, Utc::now())
        .await
        .unwrap();
    for table in ["plan", "plan_benefit", "provider", "fee_schedule"] {
        assert_eq!(
            reference::records(&cache, table).await.unwrap().len(),
            count(&db, table).await,
            "{table}"
        );
    }
    cache.wipe(&owner, &kc).await.unwrap();
    credentialing.close().await;
    adjudicator.close().await;
    db.cleanup().await;
}
