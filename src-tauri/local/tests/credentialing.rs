//! The credentialing specialist's directory and work lists, from the
//! reference records synced into a real encrypted cache from real PostgreSQL,
//! checked against central's own answer to the same questions.

mod support;

use chrono::{Duration, Utc};
use claimdesk_local::credentialing::{Directory, DirectoryQuery};
use claimdesk_local::reference::{pull_reference, ReferencePlan};

#[tokio::test]
async fn the_directory_and_work_lists_match_central() {
    let mut db = support::seeded(200, 7, 40).await;
    let desk = support::desk(&mut db, "credentialing").await;
    let plan = ReferencePlan::discover(&desk.central).await.unwrap();
    pull_reference(&desk.cache, &desk.central, &plan, 500, Utc::now())
        .await
        .unwrap();
    let dir = Directory::load(&desk.cache).await.unwrap();
    let providers: i64 = sqlx::query_scalar("SELECT count(*) FROM claimdesk.provider")
        .fetch_one(&db.owner)
        .await
        .unwrap();
    assert_eq!(dir.len() as i64, providers);

    // By NPI, by a word of the specialty, by state: as central would answer.
    let (npi, specialty, state): (String, String, String) = sqlx::query_as(
        "SELECT npi, specialty, state FROM claimdesk.provider WHERE specialty IS NOT NULL AND state IS NOT NULL ORDER BY npi LIMIT 1",
    )
    .fetch_one(&db.owner)
    .await
    .unwrap();
    let by_npi = dir.search(
        &DirectoryQuery {
            text: Some(npi.clone()),
            ..Default::default()
        },
        50,
    );
    assert_eq!(by_npi.len(), 1);
    assert_eq!(by_npi[0].npi, npi);
    let word = specialty.split_whitespace().next().unwrap().to_string();
    let in_state: i64 = sqlx::query_scalar(
        "SELECT count(*) FROM claimdesk.provider WHERE state = $1 AND (specialty ILIKE '%' || $2 || '%' OR last_name ILIKE '%' || $2 || '%'
            OR organization_name ILIKE '%' || $2 || '%' OR first_name ILIKE '%' || $2 || '%')",
    )
    .bind(&state)
    .bind(&word)
    .fetch_one(&db.owner)
    .await
    .unwrap();
    let found = dir.search(
        &DirectoryQuery {
            text: Some(word.to_lowercase()),
            state: Some(state.to_lowercase()),
            ..Default::default()
        },
        10_000,
    );
    assert_eq!(found.len() as i64, in_state);
    assert!(found
        .iter()
        .all(|p| p.state.as_deref() == Some(state.as_str())));
    let pending_network = dir.search(
        &DirectoryQuery {
            network_status: Some("pending".into()),
            ..Default::default()
        },
        10_000,
    );
    assert!(pending_network
        .iter()
        .all(|p| p.network_status == "pending"));

    // A profile: the provider's credentials, each with its verification history.
    let profile = dir.profile(by_npi[0].id).unwrap();
    let (provider, credentials) = (profile.provider, profile.credentials);
    assert_eq!(provider.npi, npi);
    let expected: i64 = sqlx::query_scalar(
        "SELECT count(*) FROM claimdesk.provider_credential WHERE provider_id = $1",
    )
    .bind(provider.id)
    .fetch_one(&db.owner)
    .await
    .unwrap();
    assert_eq!(credentials.len() as i64, expected);
    for entry in &credentials {
        let (c, history) = (&entry.credential, &entry.verifications);
        let n: i64 = sqlx::query_scalar(
            "SELECT count(*) FROM claimdesk.credential_verification WHERE credential_id = $1",
        )
        .bind(c.id)
        .fetch_one(&db.owner)
        .await
        .unwrap();
        assert_eq!(history.len() as i64, n);
        assert!(history
            .windows(2)
            .all(|w| w[0].verified_at >= w[1].verified_at));
    }

    // The work lists, against central's SQL for the same day.
    let now = Utc::now();
    let today = now.date_naive();
    let board = dir.dashboard(today, now);
    let count = |sql: &'static str| {
        let owner = db.owner.clone();
        async move {
            sqlx::query_scalar::<_, i64>(sql)
                .bind(today)
                .bind(now - Duration::days(120))
                .fetch_one(&owner)
                .await
                .unwrap()
        }
    };
    assert_eq!(
        board.expiring_30.len() as i64,
        count("SELECT count(*) FROM claimdesk.provider_credential WHERE status NOT IN ('revoked', 'expired')
               AND expiration_date <= $1 + 30 AND $2 IS NOT NULL").await
    );
    assert_eq!(
        board.expiring_60.len() as i64,
        count("SELECT count(*) FROM claimdesk.provider_credential WHERE status NOT IN ('revoked', 'expired')
               AND expiration_date > $1 + 30 AND expiration_date <= $1 + 60 AND $2 IS NOT NULL").await
    );
    assert_eq!(
        board.expiring_90.len() as i64,
        count("SELECT count(*) FROM claimdesk.provider_credential WHERE status NOT IN ('revoked', 'expired')
               AND expiration_date > $1 + 60 AND expiration_date <= $1 + 90 AND $2 IS NOT NULL").await
    );
    assert_eq!(
        board.stale_verifications.len() as i64,
        count(
            "SELECT count(*) FROM claimdesk.provider_credential WHERE status <> 'revoked'
               AND (verified_at IS NULL OR verified_at < $2) AND $1 IS NOT NULL"
        )
        .await
    );
    assert_eq!(
        board.pending.len() as i64,
        count("SELECT count(*) FROM claimdesk.provider_credential WHERE status = 'pending' AND $1 IS NOT NULL AND $2 IS NOT NULL").await
    );
    assert_eq!(
        board.recredential_due.len() as i64,
        count(
            "SELECT count(*) FROM claimdesk.provider WHERE status = 'active'
               AND (recredential_due IS NULL OR recredential_due <= $1 + 90) AND $2 IS NOT NULL"
        )
        .await
    );
    // The seed (7) has items on these lists: the comparisons above are not of empty lists.
    assert!(
        !board.expiring_30.is_empty()
            && !board.pending.is_empty()
            && !board.stale_verifications.is_empty()
    );
    // Soonest first.
    assert!(board
        .expiring_30
        .windows(2)
        .all(|w| w[0].credential.expiration_date <= w[1].credential.expiration_date));
}
