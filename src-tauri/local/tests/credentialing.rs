//! The credentialing specialist's directory and work lists, from the
//! reference records synced into a real encrypted cache from real PostgreSQL,
//! checked against central's own answer to the same questions.

#[path = "../../core/tests/replay/mod.rs"]
mod replay;
mod support;

use chrono::{Duration, Utc};
use claimdesk_core::credentialing::Agreement;
use claimdesk_core::nppes::Registry;
use claimdesk_local::credentialing::{
    self, Directory, DirectoryQuery, LiveDirectory, VerificationInput, VerificationResult,
    VerifyError,
};
use claimdesk_local::reference::{pull_reference, ReferencePlan};
use replay::ReplayServer;
use uuid::Uuid;

/// A credentialing specialist whose cache holds the reference tables.
async fn synced(db: &mut support::common::TestDb) -> (support::Desk, ReferencePlan) {
    let desk = support::desk(db, "credentialing").await;
    let plan = ReferencePlan::discover(&desk.central).await.unwrap();
    pull_reference(&desk.cache, &desk.central, &plan, 500, Utc::now())
        .await
        .unwrap();
    (desk, plan)
}

#[tokio::test]
async fn the_directory_and_work_lists_match_central() {
    let mut db = support::seeded(200, 7, 40).await;
    let (desk, _) = synced(&mut db).await;
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

/// A verification goes to central (who and when are central's, the change
/// audited), shows at once in the directory before any sync, and is not
/// doubled once the sync brings it into the cache. Incomplete input and a
/// role without the right are refused.
#[tokio::test]
async fn a_verification_is_recorded_on_central_and_shown_at_once() {
    let mut db = support::seeded(60, 11, 40).await;
    let (desk, plan) = synced(&mut db).await;
    let (credential, provider): (Uuid, Uuid) = sqlx::query_as(
        "SELECT c.id, c.provider_id FROM claimdesk.provider_credential c
         JOIN claimdesk.contract k ON k.provider_id = c.provider_id
         WHERE c.status = 'pending' ORDER BY c.id LIMIT 1",
    )
    .fetch_one(&db.owner)
    .await
    .expect("seed 11 has a pending credential of a contracted provider");
    let live = LiveDirectory::default();
    let synced = Some(Utc::now() - Duration::minutes(1));

    // The profile carries the contracts and their fee schedules.
    let profile = live
        .with(&desk.cache, synced, |d| d.profile(provider))
        .await
        .unwrap()
        .unwrap();
    let (contracts, fees): (i64, i64) = sqlx::query_as(
        "SELECT count(DISTINCT k.id), count(f.id) FROM claimdesk.contract k
         LEFT JOIN claimdesk.fee_schedule f ON f.contract_id = k.id WHERE k.provider_id = $1",
    )
    .bind(provider)
    .fetch_one(&db.owner)
    .await
    .unwrap();
    assert_eq!(profile.contracts.len() as i64, contracts);
    assert_eq!(
        profile
            .contracts
            .iter()
            .map(|c| c.fees.len())
            .sum::<usize>() as i64,
        fees
    );
    assert!(fees > 0);

    let input = |source: &str, result, notes: Option<&str>| VerificationInput {
        credential_id: credential,
        source: source.into(),
        result,
        notes: notes.map(str::to_string),
    };
    for refused in [
        input("  ", VerificationResult::Verified, None),
        input("State board", VerificationResult::Discrepancy, Some(" ")),
        input(&"x".repeat(201), VerificationResult::Verified, None),
    ] {
        assert!(matches!(
            credentialing::verify(&desk.central, &refused).await,
            Err(VerifyError::Problem(_))
        ));
    }
    let adjudicator = support::desk(&mut db, "adjudicator").await;
    let denied = credentialing::verify(
        &adjudicator.central,
        &input("State board", VerificationResult::Verified, None),
    )
    .await;
    match denied {
        Err(VerifyError::Central(sqlx::Error::Database(e))) => {
            assert!(
                matches!(e.code().as_deref(), Some("CD004" | "42501")),
                "{e}"
            )
        }
        other => panic!("an adjudicator verified a credential: {other:?}"),
    }

    let before = Utc::now();
    let (row, verification) = credentialing::verify(
        &desk.central,
        &input(
            " Oklahoma State Board of Medical Licensure ",
            VerificationResult::Verified,
            Some("License active, no actions."),
        ),
    )
    .await
    .unwrap();
    assert_eq!(verification.verified_by, desk.login);
    assert_eq!(row.verified_by.as_deref(), Some(desk.login.as_str()));
    assert!(verification.verified_at >= before - Duration::seconds(5));
    assert_eq!(
        verification.source,
        "Oklahoma State Board of Medical Licensure"
    );
    assert_eq!(row.status, "verified");
    // The change is in central's audit trail under the specialist's login.
    let audited: i64 = sqlx::query_scalar(
        "SELECT count(*) FROM claimdesk.audit_log WHERE db_user = $1
         AND resource_type IN ('provider_credential', 'credential_verification')",
    )
    .bind(&desk.login)
    .fetch_one(&db.owner)
    .await
    .unwrap();
    assert!(audited >= 2, "{audited} audit rows");

    // Shown at once, before the cache has it.
    live.record(row.clone(), verification.clone()).await;
    let shown = |d: &claimdesk_local::credentialing::Directory| {
        let p = d.profile(provider).unwrap();
        let h = p
            .credentials
            .into_iter()
            .find(|h| h.credential.id == credential)
            .unwrap();
        (
            h.credential.status,
            h.verifications
                .iter()
                .filter(|v| v.id == verification.id)
                .count(),
            h.verifications.first().map(|v| v.id),
        )
    };
    assert_eq!(
        live.with(&desk.cache, synced, shown).await.unwrap(),
        ("verified".to_string(), 1, Some(verification.id))
    );
    // A sync pass that ended before central had it: still shown.
    assert_eq!(
        live.with(&desk.cache, Some(Utc::now()), shown)
            .await
            .unwrap()
            .1,
        1
    );
    // Once synced into the cache, there once, not twice. (The feed holds a
    // table back while older transactions anywhere on the cluster are
    // open, so the cache can take a pass or two.)
    let mut cached = String::new();
    for _ in 0..100 {
        pull_reference(&desk.cache, &desk.central, &plan, 500, Utc::now())
            .await
            .unwrap();
        cached = Directory::load(&desk.cache)
            .await
            .unwrap()
            .profile(provider)
            .unwrap()
            .credentials
            .into_iter()
            .find(|h| {
                h.credential.id == credential
                    && h.verifications.iter().any(|v| v.id == verification.id)
            })
            .map(|h| h.credential.status)
            .unwrap_or_default();
        if cached == "verified" {
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    }
    assert_eq!(cached, "verified");
    let after_sync = Some(Utc::now() + Duration::seconds(1));
    assert_eq!(
        live.with(&desk.cache, after_sync, shown).await.unwrap(),
        ("verified".to_string(), 1, Some(verification.id))
    );
}

/// Our record beside the registry's, through the production client against
/// the recorded answers: a provider we hold with the registry's NPI, one
/// field off; and an NPI the registry does not know.
#[tokio::test]
async fn a_provider_is_compared_with_the_npi_registry() {
    let mut db = support::seeded(30, 5, 5).await;
    let (provider, license): (Uuid, Uuid) = sqlx::query_as(
        "SELECT p.id, c.id FROM claimdesk.provider p JOIN claimdesk.provider_credential c ON c.provider_id = p.id
         WHERE p.entity_type = 'individual' AND c.credential_type = 'medical_license' ORDER BY p.id LIMIT 1",
    )
    .fetch_one(&db.owner)
    .await
    .unwrap();
    // The registry's Dr Hiza (api-b2f594), with our ZIP off by a digit.
    sqlx::query(
        "UPDATE claimdesk.provider SET npi = '1720377294', first_name = 'Elise', last_name = 'Hiza',
           taxonomy_code = '207X00000X', specialty = 'Orthopaedic Surgery', address_line1 = '111 Victoria Road',
           city = 'Asheville', state = 'NC', postal_code = '28805' WHERE id = $1",
    )
    .bind(provider)
    .execute(&db.owner)
    .await
    .unwrap();
    sqlx::query(
        "UPDATE claimdesk.provider_credential SET credential_number = '2017-01132', state = 'NC', status = 'verified'
         WHERE id = $1",
    )
    .bind(license)
    .execute(&db.owner)
    .await
    .unwrap();
    let (desk, _) = synced(&mut db).await;
    let dir = Directory::load(&desk.cache).await.unwrap();
    let mut profile = dir.profile(provider).unwrap();

    let server = ReplayServer::start(replay::by_number()).await;
    let registry = Registry::new(&server.base_url(), std::time::Duration::from_secs(5)).unwrap();
    let now = Utc::now();
    let compared = credentialing::compare_with_registry(&registry, &profile, now)
        .await
        .unwrap();
    assert_eq!(compared.npi, "1720377294");
    assert_eq!(compared.checked_at, now);
    assert_eq!(
        compared.record.as_ref().unwrap().last_name.as_deref(),
        Some("HIZA")
    );
    let off: Vec<(&str, Agreement)> = compared
        .rows
        .iter()
        .filter(|r| r.agreement != Agreement::Same)
        .map(|r| (r.field.as_str(), r.agreement))
        .collect();
    assert_eq!(off.len() as u32, compared.mismatches);
    assert!(
        off.iter()
            .any(|(f, a)| f.contains("ZIP") && *a == Agreement::Differs),
        "{off:?}"
    );
    // The license we hold agrees with the registry's for its state.
    assert!(compared
        .rows
        .iter()
        .any(|r| r.field.contains("NC") && r.agreement == Agreement::Same));

    profile.provider.npi = "1234567893".into();
    let unknown = credentialing::compare_with_registry(&registry, &profile, now)
        .await
        .unwrap();
    assert!(unknown.record.is_none() && unknown.rows.is_empty());
    assert_eq!(unknown.mismatches, 0);
}
