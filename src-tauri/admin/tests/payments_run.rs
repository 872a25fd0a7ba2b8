//! `claimdesk-admin payments run` with the real binary: killed with SIGKILL
//! while a payee's payment is being written (its transaction held open),
//! the next run resumes and pays every claim exactly once, with an 835 file
//! for every payment. (A run stopped after payments were committed is in
//! core's tests/payments.rs.)

use std::path::{Path, PathBuf};
use std::process::Stdio;

use sqlx::postgres::PgConnectOptions;
use sqlx::{ConnectOptions, Connection, PgConnection};

fn admin(url: &str, keys: &Path) -> std::process::Command {
    let mut c = std::process::Command::new(env!("CARGO_BIN_EXE_claimdesk-admin"));
    c.env("CLAIMDESK_ADMIN_DATABASE_URL", url)
        .env("CLAIMDESK_FIELD_KEYS", keys)
        .env("CLAIMDESK_HOME", keys.parent().unwrap());
    c
}

fn run(url: &str, keys: &Path, args: &[&str]) -> String {
    let out = admin(url, keys).args(args).output().unwrap();
    assert!(
        out.status.success(),
        "{args:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout).into_owned()
}

#[tokio::test]
async fn a_run_killed_midway_resumes_and_pays_each_claim_exactly_once() {
    let owner: PgConnectOptions = std::env::var("CLAIMDESK_TEST_PG_URL")
        .expect("CLAIMDESK_TEST_PG_URL is not set: run ./scripts/test")
        .parse()
        .unwrap();
    let home = tempfile::tempdir().unwrap();
    let keys: PathBuf = home.path().join("field-keys.json");
    let database = format!("t_payrun_{}", std::process::id());
    let url = owner.clone().database(&database).to_url_lossy().to_string();
    run(&url, &keys, &["migrate"]);
    run(&url, &keys, &["keys", "init"]);
    run(
        &url,
        &keys,
        &["seed", "--claims", "400", "--providers", "20"],
    );
    let mut conn = PgConnection::connect_with(&owner.clone().database(&database))
        .await
        .unwrap();
    let through = chrono::Utc::now().date_naive().to_string();
    let payable: Vec<String> = sqlx::query_scalar(
        "SELECT claim_number FROM claimdesk.claim
         WHERE status IN ('approved', 'partially_approved', 'denied')
           AND (NOT requires_approval OR approved_by IS NOT NULL) ORDER BY 1",
    )
    .fetch_all(&mut conn)
    .await
    .unwrap();
    assert!(payable.len() > 50);
    let out = home.path().join("835");
    let args = [
        "payments",
        "run",
        "--through",
        through.as_str(),
        "--out",
        out.to_str().unwrap(),
    ];
    let pay_run = || run(&url, &keys, &args);

    // Hold the payment in the middle of its transaction: the claims it
    // pays cannot be written while we share-lock the table, so the run
    // waits there with its payment row written and not committed.
    let mut blocker = PgConnection::connect_with(&owner.clone().database(&database))
        .await
        .unwrap();
    let mut tx = blocker.begin().await.unwrap();
    sqlx::query("LOCK TABLE claimdesk.payment_claim IN SHARE MODE")
        .execute(&mut *tx)
        .await
        .unwrap();
    let mut child = admin(&url, &keys)
        .args([
            "payments",
            "run",
            "--through",
            &through,
            "--out",
            out.to_str().unwrap(),
        ])
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let waiting = async {
        loop {
            let n: i64 = sqlx::query_scalar(
                "SELECT count(*) FROM pg_locks WHERE NOT granted AND relation = 'claimdesk.payment_claim'::regclass",
            )
            .fetch_one(&mut conn)
            .await
            .unwrap();
            if n > 0 {
                break;
            }
            tokio::time::sleep(std::time::Duration::from_millis(20)).await;
        }
    };
    tokio::time::timeout(std::time::Duration::from_secs(30), waiting)
        .await
        .expect("the run never reached the next payee");
    child.kill().unwrap(); // SIGKILL, mid-payment
    child.wait().unwrap();
    tx.rollback().await.unwrap();
    let (payments_before, running): (i64, i64) = sqlx::query_as(
        "SELECT (SELECT count(*) FROM claimdesk.payment),
                (SELECT count(*) FROM claimdesk.payment_run WHERE status = 'running')",
    )
    .fetch_one(&mut conn)
    .await
    .unwrap();
    assert_eq!(payments_before, 0, "the payment killed midway left nothing");
    assert_eq!(running, 1, "the run is left under way");

    let printed = pay_run();
    assert!(printed.contains("(resumed)"), "{printed}");
    let paid: Vec<(String, i64)> = sqlx::query_as(
        "SELECT c.claim_number, count(*) FROM claimdesk.payment_claim pc JOIN claimdesk.claim c ON c.id = pc.claim_id
         GROUP BY 1 ORDER BY 1",
    )
    .fetch_all(&mut conn)
    .await
    .unwrap();
    assert!(paid.iter().all(|(_, n)| *n == 1), "a claim paid twice");
    assert_eq!(
        paid.iter().map(|(c, _)| c.clone()).collect::<Vec<_>>(),
        payable,
        "every claim paid once, none skipped"
    );
    // Every payment has its 835 in the folder, whole, and only those.
    let traces: Vec<String> =
        sqlx::query_scalar("SELECT trace_number FROM claimdesk.payment ORDER BY 1")
            .fetch_all(&mut conn)
            .await
            .unwrap();
    let mut files: Vec<String> = std::fs::read_dir(&out)
        .unwrap()
        .map(|e| e.unwrap().file_name().into_string().unwrap())
        .filter(|n| !n.starts_with('.'))
        .collect();
    files.sort();
    assert_eq!(
        files,
        traces
            .iter()
            .map(|t| format!("PAYMENT-{t}.835"))
            .collect::<Vec<_>>()
    );
    for f in &files {
        let text = std::fs::read_to_string(out.join(f)).unwrap();
        assert!(
            text.trim_end().ends_with('~') && text.contains("IEA*1*"),
            "{f} is whole"
        );
    }
    // And again: nothing left.
    let printed = pay_run();
    assert!(printed.contains(": 0 payments, 0 claims"), "{printed}");

    conn.close().await.unwrap();
    let mut c = PgConnection::connect_with(&owner).await.unwrap();
    sqlx::raw_sql(&format!("DROP DATABASE {database} WITH (FORCE)"))
        .execute(&mut c)
        .await
        .unwrap();
}
