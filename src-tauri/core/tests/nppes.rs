//! The NPPES NPI Registry client against a local server replaying the
//! registry's recorded answers (tests/fixtures/nppes, verbatim), plus the
//! faults no recording has: a registry that never answers, one that sends
//! something other than its JSON, an HTTP error, nobody listening.

mod replay;

use std::time::Duration;

use claimdesk_core::domain::npi::NpiProblem;
use claimdesk_core::nppes::{EntityKind, NppesError, Registry, RegistryQuery};
use claimdesk_core::ErrorCode;
use replay::{route, ReplayServer, Reply};

/// The registry as the recordings answered it: which request got which answer.
async fn registry() -> (ReplayServer, Registry) {
    let mut routes = replay::by_number();
    routes.extend([
        route(
            &[("last_name", "ABERNATHY")],
            Reply::Recording("api-34c18d.json"),
        ),
        route(
            &[("organization_name", "CSP ANESTHESIA")],
            Reply::Recording("api-1f9cef.json"),
        ),
        route(
            &[("state", "NY"), ("limit", "200")],
            Reply::Recording("api-a769af.json"),
        ),
        route(&[("city", "NOWHERE")], Reply::Recording("api-8d2d52.json")),
        route(
            &[("taxonomy_description", "Dentist")],
            Reply::Recording("api-c85286.json"),
        ),
        route(&[("city", "SLOWTOWN")], Reply::Hang),
        route(
            &[("city", "GARBLED")],
            Reply::Raw(200, "<html>maintenance</html>"),
        ),
        route(
            &[("city", "OTHERJSON")],
            Reply::Raw(200, r#"{"status": "ok"}"#),
        ),
        route(
            &[("city", "BADGATEWAY")],
            Reply::Raw(502, "<html>502 Bad Gateway</html>"),
        ),
    ]);
    let server = ReplayServer::start(routes).await;
    let registry = Registry::new(&server.base_url(), Duration::from_millis(800)).unwrap();
    (server, registry)
}

fn query(f: impl FnOnce(&mut RegistryQuery)) -> RegistryQuery {
    let mut q = RegistryQuery::default();
    f(&mut q);
    q
}

#[test]
fn the_recordings_are_the_shared_originals() {
    let shared =
        std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../../../shared/fixtures/nppes");
    let Ok(originals) = std::fs::read_dir(&shared) else {
        return; // a clone without the workplace's shared folder: nothing to compare
    };
    let mut compared = 0;
    for entry in originals {
        let path = entry.unwrap().path();
        let copy = replay::recordings().join(path.file_name().unwrap());
        assert_eq!(
            std::fs::read(&path).unwrap(),
            std::fs::read(&copy).unwrap(),
            "{}",
            copy.display()
        );
        compared += 1;
    }
    assert!(compared >= 11);
}

#[tokio::test]
async fn an_organization_is_read_from_its_recorded_answer() {
    let (_server, registry) = registry().await;
    let found = registry.by_npi("1568946812").await.unwrap().unwrap();
    assert_eq!(found.kind, EntityKind::Organization);
    assert_eq!(found.name, "CSP ANESTHESIA LLC");
    assert_eq!(found.status.as_deref(), Some("A"));
    let t = &found.taxonomies[0];
    assert_eq!(
        (t.code.as_str(), t.description.as_str(), t.primary),
        ("207L00000X", "Anesthesiology", true)
    );
    // Practice location first, then mailing.
    let purposes: Vec<&str> = found.addresses.iter().map(|a| a.purpose.as_str()).collect();
    assert_eq!(purposes, ["LOCATION", "MAILING"]);
    let a = &found.addresses[0];
    assert_eq!(
        (
            a.line1.as_str(),
            a.city.as_str(),
            a.state.as_str(),
            a.postal_code.as_str()
        ),
        ("403 PERMIAN WAY STE D", "VILLA RICA", "GA", "301803226")
    );
    assert_eq!(a.line2, None);
}

#[tokio::test]
async fn people_come_with_credentials_and_licenses_per_taxonomy() {
    let (_server, registry) = registry().await;
    let hiza = registry.by_npi("1720377294").await.unwrap().unwrap();
    assert_eq!(hiza.kind, EntityKind::Individual);
    assert_eq!(hiza.name, "HIZA, ELISE AILEEN");
    assert_eq!(hiza.credential.as_deref(), Some("M.D."));

    let found = registry
        .search(&query(|q| q.last_name = Some("ABERNATHY".into())))
        .await
        .unwrap();
    assert_eq!(found.len(), 10);
    let bob = &found[0];
    assert_eq!(
        (bob.npi.as_str(), bob.name.as_str()),
        ("1114920071", "ABERNATHY, BOB R")
    );
    let t = &bob.taxonomies[0];
    assert_eq!(
        (t.code.as_str(), t.state.as_deref(), t.license.as_deref()),
        ("207Q00000X", Some("OK"), Some("2075"))
    );
    let orgs = registry
        .search(&query(|q| {
            q.organization_name = Some("CSP ANESTHESIA".into())
        }))
        .await
        .unwrap();
    assert!(orgs.iter().all(|r| r.kind == EntityKind::Organization) && orgs.len() == 10);
    // The registry's count can exceed what one page carries: the page is what we have.
    let page = registry
        .search(&query(|q| {
            q.state = Some("NY".into());
            q.limit = Some(500);
        }))
        .await
        .unwrap();
    assert_eq!(page.len(), 2);
}

#[tokio::test]
async fn no_record_and_the_registrys_own_errors_are_said_plainly() {
    let (server, registry) = registry().await;
    assert_eq!(registry.by_npi("1234567893").await.unwrap(), None);
    let refused = registry
        .search(&query(|q| q.city = Some("NOWHERE".into())))
        .await
        .unwrap_err();
    assert!(
        matches!(&refused, NppesError::Refused(e) if e == &["No valid search criteria provided"])
    );
    assert_eq!(refused.code(), ErrorCode::RegistryRefused);
    assert!(refused
        .to_string()
        .contains("No valid search criteria provided"));
    let refused = registry
        .search(&query(|q| q.taxonomy_description = Some("Dentist".into())))
        .await
        .unwrap_err();
    assert!(refused
        .to_string()
        .contains("enumeration_type requires additional search criteria"));

    // Checked here first: the registry is never asked about a mistyped NPI
    // or an empty search.
    let before = server.requests();
    assert!(matches!(
        registry.by_npi("1568946813").await,
        Err(NppesError::InvalidNpi(NpiProblem::CheckDigit))
    ));
    assert!(matches!(
        registry.by_npi("15689").await,
        Err(NppesError::InvalidNpi(NpiProblem::NotTenDigits))
    ));
    assert!(matches!(
        registry
            .search(&query(|q| q.city = Some("  ".into())))
            .await,
        Err(NppesError::NoCriteria)
    ));
    assert_eq!(server.requests(), before);
}

#[tokio::test]
async fn timeouts_garbage_http_errors_and_silence_are_told_apart() {
    let (_server, registry) = registry().await;
    let slow = registry
        .search(&query(|q| q.city = Some("SLOWTOWN".into())))
        .await
        .unwrap_err();
    assert!(matches!(slow, NppesError::Timeout(_)), "{slow:?}");
    assert_eq!(slow.code(), ErrorCode::RegistryUnreachable);
    for city in ["GARBLED", "OTHERJSON"] {
        let bad = registry
            .search(&query(|q| q.city = Some(city.into())))
            .await
            .unwrap_err();
        assert!(matches!(bad, NppesError::Malformed), "{city}: {bad:?}");
        assert_eq!(bad.code(), ErrorCode::RegistryMalformed);
    }
    let gateway = registry
        .search(&query(|q| q.city = Some("BADGATEWAY".into())))
        .await
        .unwrap_err();
    assert!(matches!(gateway, NppesError::Status(502)), "{gateway:?}");

    // Nobody listening.
    let closed = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let port = closed.local_addr().unwrap().port();
    drop(closed);
    let nowhere = Registry::new(
        &format!("http://127.0.0.1:{port}/api/"),
        Duration::from_secs(2),
    )
    .unwrap();
    assert!(matches!(
        nowhere.by_npi("1568946812").await,
        Err(NppesError::Unreachable)
    ));
    assert!(matches!(
        Registry::new("not a url", Duration::from_secs(1)),
        Err(NppesError::BadBaseUrl)
    ));
    assert!(matches!(
        Registry::new("ftp://x/", Duration::from_secs(1)),
        Err(NppesError::BadBaseUrl)
    ));
}
