//! The drop folder with the real binary: a file written slowly is taken only
//! once complete, and a watcher killed with SIGKILL mid-file resumes it on
//! restart without a claim twice.

use std::path::{Path, PathBuf};
use std::process::{Child, Stdio};
use std::time::{Duration, Instant};

use sqlx::postgres::PgConnectOptions;
use sqlx::{ConnectOptions, Connection, PgConnection};

struct Db {
    url: String,
    keys: PathBuf,
    owner: PgConnectOptions,
    database: String,
}

fn admin(db: &Db) -> std::process::Command {
    let mut c = std::process::Command::new(env!("CARGO_BIN_EXE_claimdesk-admin"));
    c.env("CLAIMDESK_ADMIN_DATABASE_URL", &db.url)
        .env("CLAIMDESK_FIELD_KEYS", &db.keys)
        .env("CLAIMDESK_HOME", db.keys.parent().unwrap());
    c
}

fn run(db: &Db, args: &[&str]) -> String {
    let out = admin(db).args(args).output().unwrap();
    assert!(
        out.status.success(),
        "{args:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout).into_owned()
}

async fn database(name: &str, home: &Path) -> (Db, PgConnection) {
    let owner: PgConnectOptions = std::env::var("CLAIMDESK_TEST_PG_URL")
        .expect("CLAIMDESK_TEST_PG_URL is not set: run ./scripts/test")
        .parse()
        .unwrap();
    let database = format!("t_watch_{name}_{}", std::process::id());
    let db = Db {
        url: owner.clone().database(&database).to_url_lossy().to_string(),
        keys: home.join("field-keys.json"),
        owner: owner.clone(),
        database: database.clone(),
    };
    run(&db, &["migrate"]);
    run(&db, &["keys", "init"]);
    run(&db, &["seed", "--claims", "200", "--providers", "20"]);
    let conn = PgConnection::connect_with(&owner.database(&database))
        .await
        .unwrap();
    (db, conn)
}

async fn drop_database(db: Db, conn: PgConnection) {
    conn.close().await.unwrap();
    let mut c = PgConnection::connect_with(&db.owner).await.unwrap();
    sqlx::raw_sql(&format!("DROP DATABASE {} WITH (FORCE)", db.database))
        .execute(&mut c)
        .await
        .unwrap();
}

fn watch(db: &Db, dir: &Path) -> Child {
    admin(db)
        .args(["intake", "--watch", dir.to_str().unwrap(), "--every", "1"])
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap()
}

async fn wait_for(what: &str, limit: Duration, mut ok: impl AsyncFnMut() -> bool) {
    let start = Instant::now();
    while !ok().await {
        assert!(start.elapsed() < limit, "timed out waiting for {what}");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

async fn count(conn: &mut PgConnection, sql: &str) -> i64 {
    sqlx::query_scalar(sql).fetch_one(conn).await.unwrap()
}

const CLAIMS_OF_BATCHES: &str =
    "SELECT count(*) FROM claimdesk.claim c JOIN claimdesk.intake_set s ON s.id = c.intake_set_id
     JOIN claimdesk.intake_interchange i ON i.id = s.interchange_id";

#[tokio::test]
async fn a_slowly_written_file_is_taken_once_complete() {
    let home = tempfile::tempdir().unwrap();
    let (db, mut conn) = database("slow", home.path()).await;
    let made = home.path().join("made.837");
    run(
        &db,
        &[
            "bench",
            "intake",
            "--claims",
            "300",
            "--per-set",
            "100",
            "--out",
            made.to_str().unwrap(),
            "--write-only",
        ],
    );
    let bytes = std::fs::read(&made).unwrap();
    let inbound = home.path().join("inbound");
    std::fs::create_dir_all(&inbound).unwrap();
    let mut child = watch(&db, &inbound);

    // Three pieces, each pause longer than two looks of the watcher: the
    // size stays put between looks, but the file has no IEA yet.
    let target = inbound.join("clearinghouse.837");
    let cut = [bytes.len() / 3, 2 * bytes.len() / 3];
    std::fs::write(&target, &bytes[..cut[0]]).unwrap();
    for piece in [&bytes[cut[0]..cut[1]], &bytes[cut[1]..]] {
        tokio::time::sleep(Duration::from_millis(3500)).await;
        assert_eq!(
            count(&mut conn, "SELECT count(*) FROM claimdesk.intake_batch").await,
            0,
            "a file without its trailer is not taken"
        );
        assert!(target.exists());
        use std::io::Write;
        std::fs::OpenOptions::new()
            .append(true)
            .open(&target)
            .unwrap()
            .write_all(piece)
            .unwrap();
    }
    let done = inbound.join("done").join("clearinghouse.837");
    wait_for("the file in done/", Duration::from_secs(120), async || {
        done.exists()
    })
    .await;
    child.kill().unwrap();
    child.wait().unwrap();

    assert_eq!(std::fs::read(&done).unwrap(), bytes, "moved whole");
    assert!(inbound.join("done").join("clearinghouse.837.999").exists());
    let answer =
        std::fs::read_to_string(inbound.join("done").join("clearinghouse.837.277CA")).unwrap();
    assert_eq!(
        answer.matches("STC*A2:20:PR").count(),
        300,
        "every claim answered accepted"
    );
    assert_eq!(
        count(&mut conn, "SELECT count(*) FROM claimdesk.intake_batch").await,
        1
    );
    assert_eq!(count(&mut conn, CLAIMS_OF_BATCHES).await, 300);
    drop_database(db, conn).await;
}

#[tokio::test]
async fn a_watcher_killed_mid_file_resumes_it_without_duplicates() {
    let home = tempfile::tempdir().unwrap();
    let (db, mut conn) = database("kill", home.path()).await;
    let inbound = home.path().join("inbound");
    std::fs::create_dir_all(&inbound).unwrap();
    let made = home.path().join("big.837");
    run(
        &db,
        &[
            "bench",
            "intake",
            "--claims",
            "4000",
            "--per-set",
            "250",
            "--out",
            made.to_str().unwrap(),
            "--write-only",
        ],
    );
    // Written elsewhere and moved in whole, as an SFTP server's rename does.
    let file = inbound.join("big.837");
    std::fs::rename(&made, &file).unwrap();

    let mut child = watch(&db, &inbound);
    wait_for("some sets written", Duration::from_secs(120), async || {
        count(&mut conn, "SELECT count(*) FROM claimdesk.intake_set").await >= 2
    })
    .await;
    child.kill().unwrap(); // SIGKILL
    child.wait().unwrap();
    let sets_before = count(&mut conn, "SELECT count(*) FROM claimdesk.intake_set").await;
    assert!(
        sets_before < 16,
        "killed mid-file ({sets_before} of 16 sets written)"
    );
    assert!(file.exists(), "the file stays until it is answered");
    assert_eq!(
        count(
            &mut conn,
            "SELECT count(*) FROM claimdesk.intake_batch WHERE status = 'receiving'"
        )
        .await,
        1
    );
    // What was committed is whole: every written set has all its claims.
    assert_eq!(count(&mut conn, CLAIMS_OF_BATCHES).await, 250 * sets_before);

    let mut child = watch(&db, &inbound);
    let done = inbound.join("done").join("big.837");
    wait_for("the file in done/", Duration::from_secs(300), async || {
        done.exists()
    })
    .await;
    child.kill().unwrap();
    child.wait().unwrap();

    assert_eq!(
        count(&mut conn, "SELECT count(*) FROM claimdesk.intake_batch").await,
        1
    );
    assert_eq!(
        count(
            &mut conn,
            "SELECT count(*) FROM claimdesk.intake_batch WHERE status = 'complete'"
        )
        .await,
        1
    );
    assert_eq!(
        count(&mut conn, "SELECT count(*) FROM claimdesk.intake_set").await,
        16
    );
    assert_eq!(
        count(&mut conn, CLAIMS_OF_BATCHES).await,
        4000,
        "every claim once"
    );
    assert_eq!(
        count(
            &mut conn,
            "SELECT count(DISTINCT patient_account_number) FROM claimdesk.claim WHERE intake_set_id IS NOT NULL"
        )
        .await,
        4000
    );
    assert_eq!(
        count(&mut conn, "SELECT count(*) FROM claimdesk.queue_entry q JOIN claimdesk.claim c ON c.id = q.claim_id WHERE c.intake_set_id IS NOT NULL").await,
        4000,
        "all in the queue"
    );
    let answer = std::fs::read_to_string(inbound.join("done").join("big.837.277CA")).unwrap();
    assert_eq!(
        answer.matches("STC*A2:20:PR").count(),
        4000,
        "the 277CA answers the sets of both runs"
    );
    drop_database(db, conn).await;
}
