//! What the adjudicator's desk reads: queue pages by saved view, and a claim
//! opened into its typed parts. Real PostgreSQL, real encrypted cache.

mod support;

use chrono::Utc;
use claimdesk_core::decision::{DecisionInput, DecisionKind, DecisionProblem};
use claimdesk_local::claim_view::{ClaimView, ViewSource};
use claimdesk_local::desk::{self, DecideError};
use claimdesk_local::queue_view::{self, QueueView};
use claimdesk_local::reference::{pull_reference, ReferencePlan};
use claimdesk_local::sync;
use claimdesk_local::{codes, detail, outbox};
use support::common;
use uuid::Uuid;

#[tokio::test]
async fn queue_pages_follow_the_saved_views_and_carry_no_member_phi() {
    let mut db = support::seeded(300, 11, 30).await;
    // One excluded provider, one pended claim, known on central.
    let excluded: Uuid = sqlx::query_scalar(
        "UPDATE claimdesk.provider SET excluded = true, exclusion_source = 'oig_leie', exclusion_date = '2024-01-01'
         WHERE id = (SELECT provider_id FROM claimdesk.claim WHERE status = 'received' ORDER BY id LIMIT 1)
         RETURNING id",
    )
    .fetch_one(&db.owner)
    .await
    .unwrap();
    let desk = support::desk(&mut db, "adjudicator").await;
    sync::pull_queue(
        &desk.cache,
        &desk.central,
        sync::PullLimits::default(),
        Utc::now(),
        &mut |_| {},
    )
    .await
    .unwrap();
    let plan = ReferencePlan::discover(&desk.central).await.unwrap();
    pull_reference(&desk.cache, &desk.central, &plan, 500, Utc::now())
        .await
        .unwrap();
    let today = Utc::now().date_naive();

    let all = queue_view::page(&desk.cache, QueueView::All, 0, 50, today)
        .await
        .unwrap();
    let cached = desk.cache.queue(100_000).await.unwrap();
    assert_eq!(all.total as usize, cached.len());
    assert_eq!(all.rows.len(), 50);
    // Queue order, the same as the cache's.
    let ids: Vec<Uuid> = all.rows.iter().map(|r| r.id).collect();
    assert_eq!(
        ids,
        cached.iter().take(50).map(|c| c.id).collect::<Vec<_>>()
    );
    // A later page continues where this one ended.
    let next = queue_view::page(&desk.cache, QueueView::All, 50, 50, today)
        .await
        .unwrap();
    assert_eq!(next.rows[0].id, cached[50].id);

    // No member PHI in what the table receives.
    let json = serde_json::to_string(&all).unwrap();
    for c in cached.iter().take(50) {
        let surname = c.phi.member_name.split(',').next().unwrap();
        assert!(
            !json.contains(surname),
            "a member name reached the queue rows"
        );
        assert!(!json.contains(&c.member_id.to_string()));
    }

    // Aging and interest follow the due date.
    for r in &all.rows {
        assert_eq!(i64::from(r.days_to_due), (r.due - today).num_days());
        if r.days_to_due >= 0 {
            assert!(r.interest_exposure.is_zero());
        } else {
            assert!(r.interest_exposure > rust_decimal::Decimal::ZERO || r.billed.is_zero());
        }
    }

    // Each view keeps what it says.
    let overdue = queue_view::page(&desk.cache, QueueView::Overdue, 0, 500, today)
        .await
        .unwrap();
    assert!(overdue.rows.iter().all(|r| r.days_to_due < 0));
    assert_eq!(
        overdue.total as usize,
        cached.iter().filter(|c| c.prompt_pay_due < today).count()
    );
    let soon = queue_view::page(&desk.cache, QueueView::DueSoon, 0, 500, today)
        .await
        .unwrap();
    assert!(soon
        .rows
        .iter()
        .all(|r| i64::from(r.days_to_due) <= claimdesk_core::aging::DUE_SOON_DAYS));
    let urgent = queue_view::page(&desk.cache, QueueView::Urgent, 0, 500, today)
        .await
        .unwrap();
    assert!(urgent.rows.iter().all(|r| r.priority == "urgent"));
    let pended = queue_view::page(&desk.cache, QueueView::Pended, 0, 500, today)
        .await
        .unwrap();
    assert_eq!(
        pended.total as usize,
        cached.iter().filter(|c| c.status == "pended").count()
    );
    let flagged = queue_view::page(&desk.cache, QueueView::Flagged, 0, 500, today)
        .await
        .unwrap();
    let from_excluded = cached.iter().filter(|c| c.provider_id == excluded).count();
    assert!(from_excluded > 0);
    assert_eq!(
        flagged.rows.iter().filter(|r| r.provider_excluded).count(),
        from_excluded,
        "every claim of the excluded provider is flagged"
    );
    assert!(flagged
        .rows
        .iter()
        .all(|r| r.provider_excluded || r.duplicate_suspect || r.risk_severity.is_some()));

    desk.cache.close().await;
    desk.central.close().await;
    db.cleanup().await;
}

#[tokio::test]
async fn an_opened_claim_reads_into_typed_parts_with_money_as_decimals() {
    let mut db = support::seeded(100, 12, 20).await;
    let desk = support::desk(&mut db, "adjudicator").await;
    let (claim, billed, lines): (Uuid, rust_decimal::Decimal, i64) = sqlx::query_as(
        "SELECT c.id, c.total_billed, (SELECT count(*) FROM claimdesk.claim_line l WHERE l.claim_id = c.id)
         FROM claimdesk.claim c WHERE status = 'received' ORDER BY id LIMIT 1",
    )
    .fetch_one(&desk.central)
    .await
    .unwrap();
    let opened = detail::open_claim(
        &desk.cache,
        &desk.central,
        &common::error_code,
        claim,
        Utc::now(),
    )
    .await
    .unwrap();
    let view = ClaimView::from_opened(&opened).unwrap();
    assert_eq!(view.claim.id, claim);
    assert_eq!(view.claim.total_billed, billed);
    assert_eq!(view.lines.len() as i64, lines);
    assert_eq!(
        view.lines
            .iter()
            .map(|l| l.billed)
            .sum::<rust_decimal::Decimal>(),
        billed,
        "the lines add up to the claim"
    );
    assert!(view.member.is_some());
    assert_eq!(view.source, ViewSource::Central);
    // Priced here from the facts central sent: every line, each balancing
    // as on an 835 (billed = paid + adjustments).
    let pricing = view
        .pricing
        .as_ref()
        .expect("the record carries pricing facts");
    let adjudication = &pricing.adjudication;
    assert_eq!(adjudication.lines.len() as i64, lines);
    for line in &adjudication.lines {
        let adjusted: rust_decimal::Decimal = line.adjustments.iter().map(|a| a.amount).sum();
        assert_eq!(
            line.billed,
            line.paid + adjusted,
            "line {}",
            line.line_number
        );
    }
    assert_eq!(adjudication.billed, billed);
    assert!(pricing.eligibility.is_some());
    assert!(pricing.provider.as_ref().is_some_and(|p| p.npi.len() == 10));
    assert!(!pricing.cpt.is_empty());
    assert!(
        !format!("{view:?}").contains(&view.claim.claim_number),
        "masked in Debug"
    );
    desk.cache.close().await;
    desk.central.close().await;
    db.cleanup().await;
}

/// Queues `input` on `claim` as the panel would: a fresh outbox key, now.
async fn decide(
    cache: &claimdesk_local::cache::Cache,
    claim: &claimdesk_local::detail::OpenedClaim,
    input: &DecisionInput,
) -> Result<Vec<claimdesk_core::decision::DecisionLine>, DecideError> {
    desk::decide(
        cache,
        claim.id,
        claim.version,
        input,
        Uuid::now_v7(),
        Utc::now(),
    )
    .await
}

#[tokio::test]
async fn decisions_are_priced_here_queued_with_their_effect_and_recorded_once() {
    let mut db = support::seeded(200, 13, 20).await;
    common::lease_away_unpayable(&db.owner).await;
    let desk = support::desk(&mut db, "adjudicator").await;
    sync::pull_queue(
        &desk.cache,
        &desk.central,
        sync::PullLimits::default(),
        Utc::now(),
        &mut |_| {},
    )
    .await
    .unwrap();
    codes::refresh(&desk.cache, &desk.central).await.unwrap();
    let map = common::error_code;

    // Approve: the engine's figures, as central records them.
    let first = desk::get_next(&desk.cache, &desk.central, &map, Utc::now())
        .await
        .unwrap();
    let view = ClaimView::from_opened(&first).unwrap();
    let priced = view.pricing.unwrap().adjudication;
    let lines = decide(
        &desk.cache,
        &first,
        &DecisionInput::of(DecisionKind::Approve),
    )
    .await
    .unwrap();
    assert_eq!(claimdesk_core::decision::total_paid(&lines), priced.paid);
    assert!(
        desk.cache.queue_claim(first.id).await.unwrap().is_none(),
        "left the cached queue"
    );

    // Deny without codes: refused here, nothing queued.
    let second = desk::get_next(&desk.cache, &desk.central, &map, Utc::now())
        .await
        .unwrap();
    let depth = outbox::depth(&desk.cache).await.unwrap();
    let mut deny = DecisionInput::of(DecisionKind::Deny);
    deny.explanation = Some("Service not covered under the member's plan.".into());
    assert!(matches!(
        decide(&desk.cache, &second, &deny).await,
        Err(DecideError::Problem(DecisionProblem::DenialCodesMissing))
    ));
    assert_eq!(outbox::depth(&desk.cache).await.unwrap(), depth);
    deny.denial_group_code = Some("CO".into());
    deny.denial_carc = Some("96".into());
    // A remark must explain the denial's reason (central's lists, cached).
    deny.rarc = vec!["N381".into()];
    assert!(matches!(
        decide(&desk.cache, &second, &deny).await,
        Err(DecideError::Problem(DecisionProblem::RemarkDoesNotFit(_)))
    ));
    assert_eq!(outbox::depth(&desk.cache).await.unwrap(), depth);
    deny.rarc = vec!["N130".into()];
    decide(&desk.cache, &second, &deny).await.unwrap();

    // Pend with a reason: stays in the queue as pended.
    let third = desk::get_next(&desk.cache, &desk.central, &map, Utc::now())
        .await
        .unwrap();
    let mut pend = DecisionInput::of(DecisionKind::Pend);
    pend.pend_reason = Some("records".into());
    decide(&desk.cache, &third, &pend).await.unwrap();
    assert_eq!(
        desk.cache
            .queue_claim(third.id)
            .await
            .unwrap()
            .unwrap()
            .status,
        "pended"
    );

    let report = outbox::push(&desk.cache, &desk.central, &map, Utc::now())
        .await
        .unwrap();
    assert_eq!(report.conflicts, 0, "{report:?}");
    let status = |id: Uuid| {
        let central = desk.central.clone();
        async move {
            sqlx::query_as::<_, (String, Option<rust_decimal::Decimal>)>(
                "SELECT status, total_paid FROM claimdesk.claim WHERE id = $1",
            )
            .bind(id)
            .fetch_one(&central)
            .await
            .unwrap()
        }
    };
    assert_eq!(
        status(first.id).await,
        ("approved".into(), Some(priced.paid))
    );
    assert_eq!(status(second.id).await.0, "denied");
    assert_eq!(status(third.id).await.0, "pended");
    // A decision on a claim central has moved on is queued all the same,
    // and central's refusal becomes a conflict the person sees (here the
    // pend ended the lease, so that is the reason given).
    decide(&desk.cache, &third, &pend).await.unwrap();
    let report = outbox::push(&desk.cache, &desk.central, &map, Utc::now())
        .await
        .unwrap();
    assert_eq!(report.conflicts, 1);
    assert_eq!(
        outbox::conflicts(&desk.cache).await.unwrap()[0]
            .ours
            .last_error
            .as_deref(),
        Some("lease_lost")
    );
    desk.cache.close().await;
    desk.central.close().await;
    db.cleanup().await;
}
