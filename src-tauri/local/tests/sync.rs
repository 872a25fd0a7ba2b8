//! Pull and push against a real PostgreSQL, into a real encrypted cache.

mod support;

use chrono::Utc;
use claimdesk_local::cache::Cache;
use claimdesk_local::detail;
use claimdesk_local::outbox::{self, LocalEffect, Mutation};
use claimdesk_local::sync::{self, PullProgress};
use sqlx::PgPool;
use support::common;
use uuid::Uuid;

async fn pull(cache: &Cache, central: &PgPool) -> sync::PullReport {
    sync::pull_queue(
        cache,
        central,
        sync::PullLimits {
            batch: 500,
            head: 100_000,
        },
        Utc::now(),
        &mut |_| {},
    )
    .await
    .unwrap()
}

/// Pulls until `done` holds for the sum of the reports. The feed's watermark
/// is cluster-wide: a long transaction anywhere on the server (another
/// test's seed) holds changes back until it ends, by design.
async fn pull_until(
    cache: &Cache,
    central: &PgPool,
    done: impl Fn(&sync::PullReport) -> bool,
) -> sync::PullReport {
    let mut total = sync::PullReport::default();
    for _ in 0..300 {
        let r = pull(cache, central).await;
        total.upserted += r.upserted;
        total.removed += r.removed;
        total.held_back += r.held_back;
        total.snapshot |= r.snapshot;
        if done(&total) {
            return total;
        }
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    }
    panic!("the change never arrived: {total:?}");
}

async fn open_visible(central: &PgPool) -> i64 {
    sqlx::query_scalar(
        "SELECT count(*) FROM claimdesk.claim WHERE status IN ('received', 'in_review', 'appealed', 'pended')",
    )
    .fetch_one(central)
    .await
    .unwrap()
}

#[tokio::test]
async fn the_first_sync_mirrors_the_open_queue_with_progress_and_no_phi_on_disk() {
    let mut db = support::seeded(1_200, 5, 30).await;
    let support::Desk {
        central,
        login: _login,
        dir,
        kc: _kc,
        owner: _owner,
        cache,
    } = support::desk(&mut db, "adjudicator").await;

    let mut seen: Vec<PullProgress> = Vec::new();
    let report = sync::pull_queue(
        &cache,
        &central,
        sync::PullLimits {
            batch: 200,
            ..Default::default()
        },
        Utc::now(),
        &mut |p| seen.push(p),
    )
    .await
    .unwrap();
    let expected = open_visible(&central).await;
    assert!(expected > 300, "the seed leaves many claims open");
    assert!(report.snapshot);
    assert_eq!(cache.queue_len().await.unwrap(), expected);
    assert_eq!(report.upserted as i64, expected);
    // Progress: starts at 0 of the expected count, rises, ends at the count.
    assert_eq!(seen.first().unwrap().applied, 0);
    assert_eq!(seen.first().unwrap().expected, Some(expected as u64));
    assert!(seen.windows(2).all(|w| w[0].applied <= w[1].applied));
    assert!(seen.iter().any(|p| p.applied == expected as u64));
    assert!(seen.len() > 3, "reported batch by batch");

    // Decrypted, in queue order, with the PHI that was sealed.
    let queue = cache.queue(10_000).await.unwrap();
    assert!(queue
        .windows(2)
        .all(|w| (w[0].priority_rank, w[0].prompt_pay_due)
            <= (w[1].priority_rank, w[1].prompt_pay_due)));
    let head = &queue[0];
    let (number, last): (String, String) = sqlx::query_as(
        "SELECT c.claim_number, m.last_name FROM claimdesk.claim c JOIN claimdesk.member m ON m.id = c.member_id
         WHERE c.id = $1",
    )
    .bind(head.id)
    .fetch_one(&db.owner)
    .await
    .unwrap();
    assert_eq!(head.phi.claim_number, number);
    assert!(head.phi.member_name.starts_with(&last));
    assert!(
        !format!("{head:?}").contains(&number),
        "PHI is masked in Debug"
    );

    // Nothing identifying lies on disk in plaintext: not in the file, not in its WAL.
    let phi: Vec<(String, String)> = sqlx::query_as(
        "SELECT c.claim_number, m.last_name FROM claimdesk.claim c JOIN claimdesk.member m ON m.id = c.member_id
         WHERE c.status IN ('received', 'in_review', 'appealed', 'pended')",
    )
    .fetch_all(&central)
    .await
    .unwrap();
    for (number, last) in phi.iter().take(300) {
        for needle in [number, last] {
            if needle.len() >= 5 {
                assert_eq!(
                    support::found_on_disk(dir.path(), needle),
                    None,
                    "{needle:?} on disk"
                );
            }
        }
    }
    cache.close().await;
    for (number, _) in phi.iter().take(300) {
        assert_eq!(support::found_on_disk(dir.path(), number), None);
    }
    central.close().await;
    db.cleanup().await;
}

#[tokio::test]
async fn incremental_pulls_follow_changes_and_closed_claims_leave() {
    let mut db = support::seeded(300, 5, 30).await;
    let support::Desk {
        central,
        login: _login,
        dir: _dir,
        kc: _kc,
        owner: _owner,
        cache,
    } = support::desk(&mut db, "adjudicator").await;
    pull(&cache, &central).await;
    let before = cache.queue_len().await.unwrap();

    let ids: Vec<Uuid> = sqlx::query_scalar(
        "SELECT id FROM claimdesk.claim WHERE status IN ('received', 'in_review') ORDER BY id LIMIT 2",
    )
    .fetch_all(&central)
    .await
    .unwrap();
    sqlx::query("UPDATE claimdesk.claim SET priority = 'urgent' WHERE id = $1")
        .bind(ids[0])
        .execute(&db.owner)
        .await
        .unwrap();
    sqlx::query("UPDATE claimdesk.claim SET status = 'void' WHERE id = $1")
        .bind(ids[1])
        .execute(&db.owner)
        .await
        .unwrap();
    let report = pull_until(&cache, &central, |r| r.upserted + r.removed >= 2).await;
    assert!(!report.snapshot);
    assert_eq!(report.upserted, 1);
    assert_eq!(report.removed, 1);
    assert_eq!(cache.queue_len().await.unwrap(), before - 1);
    let queue = cache.queue(10_000).await.unwrap();
    assert_eq!(
        queue.iter().find(|c| c.id == ids[0]).unwrap().priority,
        "urgent"
    );
    assert!(queue.iter().all(|c| c.id != ids[1]));
    // Nothing new: nothing applied, the cursor holds.
    assert_eq!(pull(&cache, &central).await, sync::PullReport::default());
    cache.close().await;
    central.close().await;
    db.cleanup().await;
}

/// Leases the next claim and returns it with its version and engine-ready lines.
async fn checkout(central: &PgPool) -> (Uuid, i32, serde_json::Value) {
    let (id, version): (Uuid, i32) =
        sqlx::query_as("SELECT claim_id, version FROM claimdesk.claim_checkout()")
            .fetch_one(central)
            .await
            .unwrap();
    let lines: serde_json::Value = sqlx::query_scalar(
        "SELECT jsonb_agg(jsonb_build_object('line_number', line_number, 'allowed', billed, 'deductible', '0',
                'copay', '0', 'coinsurance', '0', 'paid', billed, 'group_code', NULL, 'carc', NULL, 'rarc', '[]'::jsonb,
                'adjustments', '[]'::jsonb)
                ORDER BY line_number)
         FROM claimdesk.claim_line WHERE claim_id = $1",
    )
    .bind(id)
    .fetch_one(central)
    .await
    .unwrap();
    (id, version, lines)
}

fn approve(claim_id: Uuid, version: i32, lines: serde_json::Value) -> Mutation {
    Mutation::Decide {
        claim_id,
        version,
        decision: "approve".into(),
        lines,
        denial_group_code: None,
        denial_carc: None,
        explanation: Some("paid as billed".into()),
        pend_reason: None,
        override_reason: None,
        priced_against: None,
    }
}

fn code_of(e: sqlx::Error) -> claimdesk_core::ErrorCode {
    common::error_code(e)
}

#[tokio::test]
async fn the_outbox_survives_an_outage_and_central_applies_each_mutation_once() {
    let mut db = support::seeded(200, 5, 30).await;
    common::lease_away_unpayable(&db.owner).await;
    let support::Desk {
        central,
        login: _login,
        dir: _dir,
        kc: _kc,
        owner: _owner,
        cache,
    } = support::desk(&mut db, "adjudicator").await;
    pull(&cache, &central).await;

    let (claim, version, lines) = checkout(&central).await;
    let key = Uuid::now_v7();
    let now = Utc::now();
    outbox::enqueue(
        &cache,
        key,
        &approve(claim, version, lines),
        LocalEffect::LeaveQueue,
        now,
    )
    .await
    .unwrap();
    assert!(
        cache
            .queue(10_000)
            .await
            .unwrap()
            .iter()
            .all(|c| c.id != claim),
        "left the queue locally at once"
    );
    assert_eq!(outbox::depth(&cache).await.unwrap(), 1);

    // Central is unreachable: the entry waits, with a retry time.
    let dead = sqlx::postgres::PgPoolOptions::new()
        .acquire_timeout(std::time::Duration::from_secs(2))
        .connect_lazy_with(common::owner_options().port(1).username("nobody"));
    let report = outbox::push(&cache, &dead, &code_of, now).await.unwrap();
    assert_eq!(report.sent, 0);
    let retry = report.retry_at.expect("a retry is scheduled");
    assert!(retry > now);
    let entries = outbox::entries(&cache).await.unwrap();
    assert_eq!(entries.len(), 1);
    assert_eq!(
        (entries[0].state.as_str(), entries[0].attempts),
        ("pending", 1)
    );
    assert_eq!(entries[0].last_error.as_deref(), Some("server_unreachable"));
    // Before the retry time nothing is sent, even with central back.
    let early = outbox::push(&cache, &central, &code_of, now).await.unwrap();
    assert_eq!(early.sent, 0);

    // A server change to the claim meanwhile is not applied over the local decision.
    sqlx::query("UPDATE claimdesk.claim SET priority = 'urgent' WHERE id = $1")
        .bind(claim)
        .execute(&db.owner)
        .await
        .unwrap();
    let held = pull_until(&cache, &central, |r| r.held_back > 0).await;
    assert_eq!(held.held_back, 1);
    assert!(cache
        .queue(10_000)
        .await
        .unwrap()
        .iter()
        .all(|c| c.id != claim));

    // Central is back: sent once, and the claim is approved once.
    let report = outbox::push(&cache, &central, &code_of, retry)
        .await
        .unwrap();
    assert_eq!((report.sent, report.repeats, report.conflicts), (1, 0, 0));
    assert_eq!(report.settled_claims, vec![claim]);
    assert_eq!(outbox::depth(&cache).await.unwrap(), 0);
    // The same key again (an answer lost on the way back): not applied twice.
    let again: serde_json::Value = sqlx::query_scalar("SELECT claimdesk.apply_mutation($1, 'decide', $2)")
        .bind(key)
        .bind(serde_json::json!({"claim_id": claim, "version": version, "decision": "approve", "lines": []}))
        .fetch_one(&central)
        .await
        .unwrap();
    assert_eq!(again["applied"], false);
    let (status, cur_version, history): (String, i32, i64) = sqlx::query_as(
        "SELECT status, version, (SELECT count(*) FROM claimdesk.claim_status_history h
                                  WHERE h.claim_id = c.id AND h.to_status = 'approved')
         FROM claimdesk.claim c WHERE id = $1",
    )
    .bind(claim)
    .fetch_one(&db.owner)
    .await
    .unwrap();
    assert_eq!(
        (status.as_str(), cur_version, history),
        ("approved", version + 1, 1)
    );
    cache.close().await;
    central.close().await;
    db.cleanup().await;
}

#[tokio::test]
async fn a_stale_decision_becomes_a_conflict_the_person_sees() {
    let mut db = support::seeded(200, 5, 30).await;
    common::lease_away_unpayable(&db.owner).await;
    let support::Desk {
        central,
        login: _login,
        dir: _dir,
        kc: _kc,
        owner: _owner,
        cache,
    } = support::desk(&mut db, "adjudicator").await;
    pull(&cache, &central).await;
    let (claim, version, lines) = checkout(&central).await;
    // Someone changed the claim after it was opened here.
    sqlx::query("UPDATE claimdesk.claim SET version = version + 1 WHERE id = $1")
        .bind(claim)
        .execute(&db.owner)
        .await
        .unwrap();
    let key = Uuid::now_v7();
    outbox::enqueue(
        &cache,
        key,
        &approve(claim, version, lines),
        LocalEffect::LeaveQueue,
        Utc::now(),
    )
    .await
    .unwrap();
    let report = outbox::push(&cache, &central, &code_of, Utc::now())
        .await
        .unwrap();
    assert_eq!((report.sent, report.conflicts), (0, 1));
    // Kept, with its reason, and opened intact for the conflict dialog.
    let entries = outbox::entries(&cache).await.unwrap();
    assert_eq!(entries.len(), 1);
    assert_eq!(entries[0].state, "conflict");
    assert_eq!(entries[0].last_error.as_deref(), Some("version_conflict"));
    assert!(
        matches!(&entries[0].mutation, Mutation::Decide { claim_id, .. } if *claim_id == claim)
    );
    // Both versions: ours as queued, central's as it stood at the refusal.
    let conflicts = outbox::conflicts(&cache).await.unwrap();
    assert_eq!(conflicts.len(), 1);
    assert_eq!(conflicts[0].ours.id, key);
    let theirs = conflicts[0]
        .theirs
        .as_ref()
        .expect("central's version kept");
    assert_eq!(theirs.version, i64::from(version) + 1);
    assert_eq!(theirs.record.0["claim"]["id"], claim.to_string());
    assert_eq!(theirs.record.0["claim"]["version"], version + 1);
    // A conflict does not hold the claim: central's version comes back.
    sync::refresh_claims(&cache, &central, &[claim], Utc::now())
        .await
        .unwrap();
    let back = cache.queue(10_000).await.unwrap();
    assert_eq!(
        back.iter().find(|c| c.id == claim).unwrap().version,
        i64::from(version) + 1
    );
    // Further pushes leave it alone until the person dismisses it.
    let report = outbox::push(&cache, &central, &code_of, Utc::now())
        .await
        .unwrap();
    assert_eq!(report, outbox::PushReport::default());
    assert!(outbox::dismiss(&cache, key).await.unwrap());
    assert_eq!(outbox::depth(&cache).await.unwrap(), 0);
    assert!(outbox::conflicts(&cache).await.unwrap().is_empty());
    let kept: i64 = support::scalar_in_file(&cache, "SELECT count(*) FROM outbox_conflict").await;
    assert_eq!(kept, 0, "central's copy leaves with the entry");
    cache.close().await;
    central.close().await;
    db.cleanup().await;
}

#[tokio::test]
async fn a_lost_lease_shows_who_holds_the_claim_now() {
    let mut db = support::seeded(200, 5, 30).await;
    common::lease_away_unpayable(&db.owner).await;
    let support::Desk {
        central,
        login: _login,
        dir: _dir,
        kc: _kc,
        owner: _owner,
        cache,
    } = support::desk(&mut db, "adjudicator").await;
    pull(&cache, &central).await;
    let (claim, version, lines) = checkout(&central).await;
    // The lease ran out while this desktop was offline and a colleague took it.
    sqlx::query(
        "UPDATE claimdesk.queue_entry SET lease_holder = 'colleague', leased_at = now(),
                lease_expires_at = now() + interval '30 minutes' WHERE claim_id = $1",
    )
    .bind(claim)
    .execute(&db.owner)
    .await
    .unwrap();
    let key = Uuid::now_v7();
    outbox::enqueue(
        &cache,
        key,
        &approve(claim, version, lines),
        LocalEffect::LeaveQueue,
        Utc::now(),
    )
    .await
    .unwrap();
    let report = outbox::push(&cache, &central, &code_of, Utc::now())
        .await
        .unwrap();
    assert_eq!((report.sent, report.conflicts), (0, 1));
    let conflicts = outbox::conflicts(&cache).await.unwrap();
    assert_eq!(conflicts.len(), 1);
    assert_eq!(conflicts[0].ours.last_error.as_deref(), Some("lease_lost"));
    let theirs = conflicts[0]
        .theirs
        .as_ref()
        .expect("central's version kept");
    assert_eq!(theirs.version, i64::from(version));
    assert_eq!(theirs.record.0["lease"]["holder"], "colleague");
    // Not applied: the claim is still open on central.
    let status: String = sqlx::query_scalar("SELECT status FROM claimdesk.claim WHERE id = $1")
        .bind(claim)
        .fetch_one(&db.owner)
        .await
        .unwrap();
    assert_ne!(status, "approved");
    cache.close().await;
    central.close().await;
    db.cleanup().await;
}

/// A one-pixel PNG.
const PNG: &[u8] = &[
    0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a, 0x00, 0x00, 0x00, 0x0d, 0x49, 0x48, 0x44, 0x52,
    0x00, 0x00, 0x00, 0x01, 0x00, 0x00, 0x00, 0x01, 0x08, 0x06, 0x00, 0x00, 0x00, 0x1f, 0x15, 0xc4,
    0x89, 0x00, 0x00, 0x00, 0x0d, 0x49, 0x44, 0x41, 0x54, 0x78, 0x9c, 0x63, 0x00, 0x01, 0x00, 0x00,
    0x05, 0x00, 0x01, 0x0d, 0x0a, 0x2d, 0xb4, 0x00, 0x00, 0x00, 0x00, 0x49, 0x45, 0x4e, 0x44, 0xae,
    0x42, 0x60, 0x82,
];

fn attach(claim_id: Uuid, mime_type: &str) -> Mutation {
    Mutation::Attach {
        claim_id,
        document_id: Uuid::now_v7(),
        document_type: "correspondence".into(),
        file_name: "provider-reply.png".into(),
        mime_type: mime_type.into(),
        content: PNG.to_vec(),
    }
}

#[tokio::test]
async fn attachments_travel_in_the_outbox_once_and_a_mislabelled_file_is_a_conflict() {
    let mut db = support::seeded(200, 5, 30).await;
    let support::Desk {
        central,
        login,
        dir: _dir,
        kc: _kc,
        owner: _owner,
        cache,
    } = support::desk(&mut db, "adjudicator").await;
    pull(&cache, &central).await;
    let (claim, _, _) = checkout(&central).await;

    let good = attach(claim, "image/png");
    let Mutation::Attach { document_id, .. } = &good else {
        unreachable!()
    };
    let document_id = *document_id;
    let key = Uuid::now_v7();
    outbox::enqueue(&cache, key, &good, LocalEffect::None, Utc::now())
        .await
        .unwrap();
    // The file is sealed in the cache like any PHI.
    let raw: Vec<u8> = support::scalar_in_file(&cache, "SELECT sealed FROM outbox").await;
    assert!(!raw.windows(8).any(|w| w == &PNG[..8]));
    assert!(!raw.windows(18).any(|w| w == b"provider-reply.png"));

    let report = outbox::push(&cache, &central, &code_of, Utc::now())
        .await
        .unwrap();
    assert_eq!((report.sent, report.conflicts), (1, 0));
    // A retry of the same key (the answer was lost): stored once.
    let again: serde_json::Value =
        sqlx::query_scalar("SELECT claimdesk.apply_mutation($1, 'attach', $2)")
            .bind(key)
            .bind(serde_json::to_value(&good).unwrap())
            .fetch_one(&central)
            .await
            .unwrap();
    assert_eq!(again["applied"], false);
    let (n, size, mime, by): (i64, i64, String, String) = sqlx::query_as(
        "SELECT count(*) OVER (), size_bytes, mime_type, uploaded_by
         FROM claimdesk.document WHERE claim_id = $1 AND id = $2",
    )
    .bind(claim)
    .bind(document_id)
    .fetch_one(&db.owner)
    .await
    .unwrap();
    assert_eq!((n, size, mime.as_str()), (1, PNG.len() as i64, "image/png"));
    assert_eq!(by, login);

    // A PNG labelled as a PDF: refused, kept for the person to see.
    let bad_key = Uuid::now_v7();
    outbox::enqueue(
        &cache,
        bad_key,
        &attach(claim, "application/pdf"),
        LocalEffect::None,
        Utc::now(),
    )
    .await
    .unwrap();
    let report = outbox::push(&cache, &central, &code_of, Utc::now())
        .await
        .unwrap();
    assert_eq!((report.sent, report.conflicts), (0, 1));
    let conflicts = outbox::conflicts(&cache).await.unwrap();
    assert_eq!(conflicts.len(), 1);
    assert_eq!(conflicts[0].ours.id, bad_key);
    assert_eq!(
        conflicts[0].ours.last_error.as_deref(),
        Some("invalid_input")
    );
    assert!(
        matches!(&conflicts[0].ours.mutation, Mutation::Attach { content, .. } if content == PNG)
    );
    cache.close().await;
    central.close().await;
    db.cleanup().await;
}

#[tokio::test]
async fn key_rotation_re_seals_every_row_and_drops_the_old_key() {
    let mut db = support::seeded(300, 5, 30).await;
    let support::Desk {
        central,
        login: _login,
        dir,
        kc,
        owner,
        cache,
    } = support::desk(&mut db, "adjudicator").await;
    pull(&cache, &central).await;
    let before = cache.queue(10_000).await.unwrap();
    // Every sealed table has rows: an opened claim, and its queued view.
    let opened = detail::open_claim(
        &cache,
        &central,
        &common::error_code,
        before[0].id,
        Utc::now(),
    )
    .await
    .unwrap();
    let queued = outbox::entries(&cache).await.unwrap();
    assert_eq!(queued.len(), 1);
    let plan = claimdesk_local::reference::ReferencePlan::discover(&central)
        .await
        .unwrap();
    claimdesk_local::reference::pull_reference(&cache, &central, &plan, 500, Utc::now())
        .await
        .unwrap();
    let providers = claimdesk_local::reference::records(&cache, "provider")
        .await
        .unwrap();
    assert!(!providers.is_empty());
    // The engine works on a clone of the cache: it must see the new key too.
    let engines_copy = cache.clone();
    let new_key = cache.rotate_key(&owner, &kc).await.unwrap();
    assert_eq!(
        engines_copy.key_ids(),
        vec![new_key],
        "clones share the keys"
    );
    assert_eq!(
        claimdesk_local::reference::records(&cache, "provider")
            .await
            .unwrap(),
        providers,
        "reference records re-sealed too"
    );
    assert_eq!(cache.key_ids(), vec![new_key]);
    assert_eq!(
        cache.queue(10_000).await.unwrap(),
        before,
        "same data under the new key"
    );
    assert_eq!(outbox::entries(&cache).await.unwrap(), queued);
    let dead = sqlx::postgres::PgPoolOptions::new()
        .acquire_timeout(std::time::Duration::from_secs(1))
        .connect_lazy_with(common::owner_options().port(1));
    let again = detail::open_claim(&cache, &dead, &common::error_code, before[0].id, Utc::now())
        .await
        .unwrap();
    assert_eq!(
        again.record, opened.record,
        "the stored copy opens under the new key"
    );
    cache.close().await;
    // The keychain now holds only the new key, and it opens the cache.
    let (ring, _) = kc.load_or_create(&owner.account()).await.unwrap();
    assert_eq!(ring.ids(), vec![new_key]);
    let (cache, opened) = support::open(dir.path(), &owner, &kc).await;
    assert_eq!(opened, claimdesk_local::cache::Opened::Existing);
    assert_eq!(cache.queue(10_000).await.unwrap(), before);
    cache.wipe(&owner, &kc).await.unwrap();
    central.close().await;
    db.cleanup().await;
}

#[tokio::test]
async fn only_the_head_of_the_queue_is_kept() {
    let mut db = support::seeded(400, 5, 30).await;
    let support::Desk {
        central,
        login: _login,
        dir: _dir,
        kc: _kc,
        owner: _owner,
        cache,
    } = support::desk(&mut db, "adjudicator").await;
    let limits = sync::PullLimits {
        batch: 20,
        head: 50,
    };
    let mut expected_seen = None;
    sync::pull_queue(&cache, &central, limits, Utc::now(), &mut |p| {
        expected_seen = expected_seen.or(p.expected)
    })
    .await
    .unwrap();
    assert_eq!(
        expected_seen,
        Some(50),
        "progress counts the head, not every open claim"
    );
    let head: Vec<Uuid> = sqlx::query_scalar(
        "SELECT id FROM claimdesk.claim WHERE status IN ('received', 'in_review', 'appealed', 'pended')
         ORDER BY priority_rank, prompt_pay_due, received_at, id LIMIT 50",
    )
    .fetch_all(&central)
    .await
    .unwrap();
    let cached: Vec<Uuid> = cache
        .queue(1_000)
        .await
        .unwrap()
        .iter()
        .map(|c| c.id)
        .collect();
    assert_eq!(cached, head, "the first 50 in queue order");

    // A claim beyond the head changes: the head stays the head.
    sqlx::query(
        "UPDATE claimdesk.claim SET total_billed = total_billed + 1 WHERE id = (
             SELECT id FROM claimdesk.claim WHERE status IN ('received', 'in_review', 'appealed', 'pended')
             ORDER BY priority_rank DESC, prompt_pay_due DESC LIMIT 1)",
    )
    .execute(&db.owner)
    .await
    .unwrap();
    let mut arrived = false;
    for _ in 0..300 {
        let r = sync::pull_queue(&cache, &central, limits, Utc::now(), &mut |_| {})
            .await
            .unwrap();
        if r.upserted > 0 {
            // It came in with the change, and went out with the trim.
            assert_eq!(r.removed, 1);
            arrived = true;
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    }
    assert!(arrived, "the change reached the cache");
    let cached: Vec<Uuid> = cache
        .queue(1_000)
        .await
        .unwrap()
        .iter()
        .map(|c| c.id)
        .collect();
    assert_eq!(cached, head);
    cache.close().await;
    central.close().await;
    db.cleanup().await;
}

#[tokio::test]
async fn opening_a_claim_stores_it_for_offline_and_audits_every_view() {
    let mut db = support::seeded(200, 5, 30).await;
    let support::Desk {
        central,
        login,
        dir,
        kc: _kc,
        owner: _owner,
        cache,
    } = support::desk(&mut db, "adjudicator").await;
    let (claim, number, dob): (Uuid, String, chrono::NaiveDate) = sqlx::query_as(
        "SELECT c.id, c.claim_number, m.date_of_birth FROM claimdesk.claim c
         JOIN claimdesk.member m ON m.id = c.member_id
         WHERE c.status = 'received' ORDER BY c.id LIMIT 1",
    )
    .fetch_one(&central)
    .await
    .unwrap();

    // Online: the full record, from central.
    let t1 = Utc::now();
    let online = detail::open_claim(&cache, &central, &common::error_code, claim, t1)
        .await
        .unwrap();
    assert_eq!(online.source, detail::Source::Central);
    let record = &online.record.0;
    assert_eq!(record["claim"]["claim_number"], number.as_str());
    assert_eq!(record["member"]["date_of_birth"], dob.to_string());
    assert!(!record["lines"].as_array().unwrap().is_empty());
    assert!(record["member"].get("ssn_ciphertext").is_none());
    assert!(!format!("{online:?}").contains(&number), "masked in Debug");

    // Offline: the stored copy, sealed on disk, and the view still recorded.
    let dead = sqlx::postgres::PgPoolOptions::new()
        .acquire_timeout(std::time::Duration::from_secs(1))
        .connect_lazy_with(common::owner_options().port(1));
    let t2 = Utc::now();
    let offline = detail::open_claim(&cache, &dead, &common::error_code, claim, t2)
        .await
        .unwrap();
    assert!(matches!(offline.source, detail::Source::Stored(_)));
    assert_eq!(offline.record, online.record);
    // Known offline: the stored copy without a connection attempt, the view
    // recorded all the same.
    let depth = outbox::depth(&cache).await.unwrap();
    let direct = detail::open_stored(&cache, claim, t2).await.unwrap();
    assert_eq!(direct.record, online.record);
    assert_eq!(outbox::depth(&cache).await.unwrap(), depth + 1);
    assert_eq!(support::found_on_disk(dir.path(), &number), None);
    // A claim never opened here cannot open offline: a clear error.
    let other: Uuid = sqlx::query_scalar("SELECT id FROM claimdesk.claim WHERE id <> $1 LIMIT 1")
        .bind(claim)
        .fetch_one(&central)
        .await
        .unwrap();
    assert!(matches!(
        detail::open_claim(&cache, &dead, &common::error_code, other, Utc::now()).await,
        Err(detail::OpenError::NotStored)
    ));

    // Both views reach the audit trail when the outbox is pushed, with the
    // time each was made, as the person, as PHI views of this member.
    let report = outbox::push(&cache, &central, &common::error_code, Utc::now())
        .await
        .unwrap();
    assert_eq!(report.sent, 3);
    let views: Vec<(String, bool, Option<Uuid>, String)> = sqlx::query_as(
        "SELECT db_user, phi_accessed, member_id, new_values ->> 'viewed_at' FROM claimdesk.audit_log
         WHERE action = 'view' AND resource_type = 'claim' AND resource_id = $1 ORDER BY seq",
    )
    .bind(claim.to_string())
    .fetch_all(&db.owner)
    .await
    .unwrap();
    assert_eq!(views.len(), 3);
    assert!(views
        .iter()
        .all(|(user, phi, member, _)| user == &login && *phi && *member == Some(online.member_id)));
    let times: Vec<chrono::DateTime<Utc>> = views.iter().map(|v| v.3.parse().unwrap()).collect();
    assert_eq!(times, vec![t1, t2, t2]);
    cache.close().await;
    central.close().await;
    db.cleanup().await;
}

#[tokio::test]
async fn leased_claims_are_kept_in_full_for_offline_work_and_others_let_go() {
    let mut db = support::seeded(200, 5, 30).await;
    let support::Desk {
        central,
        login: _login,
        dir: _dir,
        kc: _kc,
        owner: _owner,
        cache,
    } = support::desk(&mut db, "adjudicator").await;
    let dead = sqlx::postgres::PgPoolOptions::new()
        .acquire_timeout(std::time::Duration::from_secs(1))
        .connect_lazy_with(common::owner_options().port(1));
    let (leased, version, _) = checkout(&central).await;
    // Opened here earlier, never leased.
    let looked_at: Uuid = sqlx::query_scalar(
        "SELECT id FROM claimdesk.claim WHERE id <> $1 AND status = 'received' ORDER BY id LIMIT 1",
    )
    .bind(leased)
    .fetch_one(&central)
    .await
    .unwrap();
    let t0 = Utc::now();
    detail::open_claim(&cache, &central, &common::error_code, looked_at, t0)
        .await
        .unwrap();
    outbox::push(&cache, &central, &common::error_code, t0)
        .await
        .unwrap();

    let report = detail::keep_leased(&cache, &central, t0).await.unwrap();
    assert_eq!((report.leased, report.fetched, report.pruned), (1, 1, 0));
    // A prefetch is not a view: nothing for the audit trail.
    assert_eq!(outbox::depth(&cache).await.unwrap(), 0);
    // The leased claim opens offline, in full.
    let offline = detail::open_claim(&cache, &dead, &common::error_code, leased, t0)
        .await
        .unwrap();
    assert!(matches!(offline.source, detail::Source::Stored(_)));
    assert_eq!(offline.version, i64::from(version));
    assert!(!offline.record.0["lines"].as_array().unwrap().is_empty());
    outbox::push(&cache, &central, &common::error_code, t0)
        .await
        .unwrap();

    // Up to date: not fetched again. Changed on central: fetched again.
    let same = detail::keep_leased(&cache, &central, t0).await.unwrap();
    assert_eq!(same.fetched, 0);
    sqlx::query("UPDATE claimdesk.claim SET version = version + 1 WHERE id = $1")
        .bind(leased)
        .execute(&db.owner)
        .await
        .unwrap();
    let changed = detail::keep_leased(&cache, &central, t0).await.unwrap();
    assert_eq!(changed.fetched, 1);

    // A day later the unleased claim is let go; the leased one stays.
    let later = t0 + detail::UNLEASED_RETENTION + chrono::Duration::minutes(1);
    let pruned = detail::keep_leased(&cache, &central, later).await.unwrap();
    assert_eq!(pruned.pruned, 1);
    assert!(matches!(
        detail::open_claim(&cache, &dead, &common::error_code, looked_at, later).await,
        Err(detail::OpenError::NotStored)
    ));
    let kept = detail::open_claim(&cache, &dead, &common::error_code, leased, later)
        .await
        .unwrap();
    assert_eq!(kept.version, i64::from(version) + 1);
    cache.close().await;
    central.close().await;
    db.cleanup().await;
}

#[tokio::test]
async fn a_supervisor_caches_restricted_claims_and_an_adjudicator_does_not() {
    let mut db = support::seeded(200, 5, 30).await;
    let restricted: Vec<Uuid> = sqlx::query_scalar(
        "UPDATE claimdesk.claim SET restricted = true WHERE id IN
             (SELECT id FROM claimdesk.claim WHERE status = 'received' ORDER BY id LIMIT 3)
         RETURNING id",
    )
    .fetch_all(&db.owner)
    .await
    .unwrap();
    assert_eq!(restricted.len(), 3);
    let open: i64 = sqlx::query_scalar(
        "SELECT count(*) FROM claimdesk.claim WHERE status IN ('received', 'in_review', 'appealed', 'pended')",
    )
    .fetch_one(&db.owner)
    .await
    .unwrap();

    for (role, expected, sees_restricted) in
        [("supervisor", open, true), ("adjudicator", open - 3, false)]
    {
        let desk = support::desk(&mut db, role).await;
        pull(&desk.cache, &desk.central).await;
        let queue = desk.cache.queue(100_000).await.unwrap();
        assert_eq!(queue.len() as i64, expected, "{role}");
        assert_eq!(
            restricted
                .iter()
                .all(|id| queue.iter().any(|c| c.id == *id)),
            sees_restricted,
            "{role}"
        );
        // Reference records come with the queue for both (the supervisor's
        // audit and lease screens read central live; see reference.rs).
        let plan = claimdesk_local::reference::ReferencePlan::discover(&desk.central)
            .await
            .unwrap();
        claimdesk_local::reference::pull_reference(
            &desk.cache,
            &desk.central,
            &plan,
            500,
            Utc::now(),
        )
        .await
        .unwrap();
        for table in ["plan", "provider"] {
            let records = claimdesk_local::reference::records(&desk.cache, table)
                .await
                .unwrap();
            assert!(!records.is_empty(), "{role}: {table}");
        }
        desk.cache.close().await;
        desk.central.close().await;
    }
    db.cleanup().await;
}
