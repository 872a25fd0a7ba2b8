//! The team dashboard on real PostgreSQL, each figure against SQL written
//! independently: depth replayed forward from the status history (the
//! dashboard walks it backward from today's queue), ages, prompt-pay
//! interest claim by claim, and each person's decisions. Then a decision
//! made after the first reading shows in the next one.

mod common;

use chrono::{DateTime, Duration, NaiveDate, Utc};
use claimdesk_core::aging;
use claimdesk_core::dashboard::{self, DashboardSpan, PriorityCounts};
use rust_decimal::Decimal;
use sqlx::PgConnection;
use uuid::Uuid;

/// The queue at `t`, each claim in the status its last change before `t` gave it.
async fn replayed(conn: &mut PgConnection, t: DateTime<Utc>) -> PriorityCounts {
    let rows: Vec<(i16, String, i32)> = sqlx::query_as(
        "SELECT s.priority_rank, s.to_status, count(*)::int
         FROM claimdesk.claim c
         CROSS JOIN LATERAL (SELECT h.to_status, h.priority_rank FROM claimdesk.claim_status_history h
                             WHERE h.claim_id = c.id AND h.changed_at <= $1
                             ORDER BY h.changed_at DESC LIMIT 1) s
         GROUP BY 1, 2",
    )
    .bind(t)
    .fetch_all(conn)
    .await
    .unwrap();
    let mut counts = PriorityCounts::default();
    for (rank, status, n) in rows {
        match (status.as_str(), rank) {
            ("pended", _) => counts.pended += n,
            ("received" | "in_review" | "appealed", 1) => counts.urgent += n,
            ("received" | "in_review" | "appealed", 2) => counts.high += n,
            ("received" | "in_review" | "appealed", 3) => counts.normal += n,
            ("received" | "in_review" | "appealed", _) => counts.low += n,
            _ => {}
        }
    }
    counts
}

#[tokio::test]
async fn every_figure_matches_the_database_and_follows_new_work() {
    let mut db = common::seeded(800, 11, 20).await;
    let supervisor = db.login("supervisor").await;
    let adjudicator = db.login("adjudicator").await;
    let mut conn = supervisor.acquire().await.unwrap();
    let mut owner = db.owner_connection().await;
    let today = NaiveDate::from_ymd_opt(2026, 11, 21).unwrap();
    let now: DateTime<Utc> = "2026-11-21T12:00:00Z".parse().unwrap();

    let board = dashboard::team_dashboard(&mut conn, now, today, DashboardSpan::Month)
        .await
        .unwrap();
    // The figures are for supervisors: an adjudicator is refused by central.
    let refused = dashboard::team_dashboard(
        &mut adjudicator.acquire().await.unwrap(),
        now,
        today,
        DashboardSpan::Day,
    )
    .await
    .unwrap_err();
    assert_eq!(
        common::error_code(refused),
        claimdesk_core::ErrorCode::PermissionDenied
    );

    // Depth: 30 days back and now; now is today's queue, each earlier point
    // the replayed history.
    assert_eq!(board.depth.len(), 31);
    assert_eq!(board.depth.last().unwrap().at, now);
    let queue: PriorityCounts = {
        let rows: Vec<(i16, bool, i32)> = sqlx::query_as(
            "SELECT priority_rank, status = 'pended', count(*)::int FROM claimdesk.claim
             WHERE status IN ('received', 'in_review', 'appealed', 'pended') GROUP BY 1, 2",
        )
        .fetch_all(&mut owner)
        .await
        .unwrap();
        let mut c = PriorityCounts::default();
        for (rank, pended, n) in rows {
            match (pended, rank) {
                (true, _) => c.pended += n,
                (false, 1) => c.urgent += n,
                (false, 2) => c.high += n,
                (false, 3) => c.normal += n,
                _ => c.low += n,
            }
        }
        c
    };
    assert!(queue.waiting() > 50 && queue.pended > 10, "{queue:?}");
    assert_eq!(board.depth.last().unwrap().counts, queue);
    for point in &board.depth[..30] {
        assert_eq!(
            point.counts,
            replayed(&mut owner, point.at).await,
            "at {}",
            point.at
        );
    }
    // The seed's open claims arrived over five weeks: the queue grew.
    assert!(board.depth[0].counts.waiting() < queue.waiting());

    // Ages, by the calendar of receipt.
    let by_band: Vec<i32> = sqlx::query_scalar(
        "SELECT count(*) FILTER (WHERE age BETWEEN lo AND coalesce(hi, 100000))::int
         FROM (VALUES (0, 7), (8, 14), (15, 30), (31, 45), (46, 60), (61, NULL)) b(lo, hi)
         CROSS JOIN LATERAL (SELECT greatest(0, floor(extract(epoch FROM $1 - received_at) / 86400))::int AS age
                             FROM claimdesk.claim
                             WHERE status IN ('received', 'in_review', 'appealed', 'pended')) a
         GROUP BY lo ORDER BY lo",
    )
    .bind(now)
    .fetch_all(&mut owner)
    .await
    .unwrap();
    let shown: Vec<i32> = board
        .aging
        .iter()
        .map(|b| b.counts.waiting() + b.counts.pended)
        .collect();
    assert_eq!(shown, by_band);
    assert_eq!(shown.iter().sum::<i32>(), queue.waiting() + queue.pended);

    // Prompt pay: interest claim by claim.
    let due: Vec<(Uuid, NaiveDate, Decimal)> = sqlx::query_as(
        "SELECT id, prompt_pay_due, total_billed FROM claimdesk.claim
         WHERE status IN ('received', 'in_review', 'appealed', 'pended') AND prompt_pay_due <= $1",
    )
    .bind(today + Duration::days(aging::DUE_SOON_DAYS))
    .fetch_all(&mut owner)
    .await
    .unwrap();
    let overdue: Vec<_> = due.iter().filter(|d| d.1 < today).collect();
    let pay = &board.prompt_pay;
    assert!(!overdue.is_empty());
    assert_eq!(pay.overdue as usize, overdue.len());
    assert_eq!(pay.due_soon as usize, due.len() - overdue.len());
    assert_eq!(
        pay.exposure,
        overdue
            .iter()
            .map(|d| aging::interest_exposure(d.2, d.1, today))
            .sum::<Decimal>()
    );
    assert!(pay.exposure > Decimal::ZERO);
    assert_eq!(
        pay.overdue_billed,
        overdue.iter().map(|d| d.2).sum::<Decimal>()
    );
    assert_eq!(pay.claims.len(), due.len().min(50));
    let first = &pay.claims[0];
    assert_eq!(first.prompt_pay_due, due.iter().map(|d| d.1).min().unwrap());
    assert!(first.days_left < 0 && first.exposure > Decimal::ZERO);

    // Throughput: each person's decisions in the 30 days, and their hours.
    let people: Vec<(String, i32, Decimal)> = sqlx::query_as(
        "SELECT h.changed_by, count(*)::int,
                round(avg(extract(epoch FROM h.changed_at - c.received_at)) / 3600, 1)
         FROM claimdesk.claim_status_history h JOIN claimdesk.claim c ON c.id = h.claim_id
         WHERE h.changed_at > $1 - interval '30 days' AND h.changed_at <= $1
           AND h.to_status IN ('approved', 'partially_approved', 'denied')
         GROUP BY 1",
    )
    .bind(now)
    .fetch_all(&mut owner)
    .await
    .unwrap();
    assert!(people.len() > 5, "the seed's adjudicators decided claims");
    for (login, decided, hours) in &people {
        let shown = board
            .adjudicators
            .iter()
            .find(|a| &a.login == login)
            .unwrap_or_else(|| panic!("{login} listed"));
        assert_eq!(shown.outcomes.decided(), *decided, "{login}");
        let diff = (shown.avg_processing_hours.unwrap() - hours).abs();
        assert!(diff <= Decimal::new(1, 1), "{login}: {diff}");
    }
    let decided: i32 = people.iter().map(|p| p.1).sum();
    assert_eq!(
        dashboard::total_outcomes(&board.outcomes).decided(),
        decided
    );
    assert_eq!(board.totals, dashboard::total_outcomes(&board.outcomes));

    // New work: an open claim denied now by the owner. The next reading
    // shows one fewer waiting, one more denial in the last step, by them.
    let (claim, rank): (Uuid, i16) = sqlx::query_as(
        "SELECT id, priority_rank FROM claimdesk.claim WHERE status = 'received' ORDER BY claim_number LIMIT 1",
    )
    .fetch_one(&mut owner)
    .await
    .unwrap();
    let me: String = sqlx::query_scalar("SELECT session_user::text")
        .fetch_one(&mut owner)
        .await
        .unwrap();
    sqlx::query(
        "UPDATE claimdesk.claim SET status = 'denied', denial_group_code = 'CO', denial_carc = '16',
             denial_explanation = 'Missing information.', adjudicated_by = session_user, adjudicated_at = now()
         WHERE id = $1",
    )
    .bind(claim)
    .execute(&mut owner)
    .await
    .unwrap();
    let later = Utc::now() + Duration::minutes(1);
    let next = dashboard::team_dashboard(&mut conn, later, later.date_naive(), DashboardSpan::Day)
        .await
        .unwrap();
    assert_eq!(next.depth.len(), 25);
    let (before, after) = (
        next.depth[next.depth.len() - 2].counts,
        next.depth.last().unwrap().counts,
    );
    let waiting = |c: &PriorityCounts| match rank {
        1 => c.urgent,
        2 => c.high,
        3 => c.normal,
        _ => c.low,
    };
    assert_eq!(waiting(&after), waiting(&queue) - 1);
    assert_eq!(waiting(&before), waiting(&queue));
    assert_eq!(next.outcomes.last().unwrap().outcomes.denied, 1);
    let mine = next.adjudicators.iter().find(|a| a.login == me).unwrap();
    assert_eq!(mine.outcomes.denied, 1);

    // A waiting normal claim raised to urgent (as the daily rescore does):
    // one more urgent and one fewer normal now, the same before, no outcome.
    let raised: Uuid = sqlx::query_scalar(
        "UPDATE claimdesk.claim SET priority = 'urgent'
         WHERE id = (SELECT id FROM claimdesk.claim WHERE status = 'received' AND priority = 'normal'
                     ORDER BY claim_number LIMIT 1)
         RETURNING id",
    )
    .fetch_one(&mut owner)
    .await
    .unwrap();
    let reason: String = sqlx::query_scalar(
        "SELECT reason FROM claimdesk.claim_status_history WHERE claim_id = $1 AND from_status = to_status",
    )
    .bind(raised)
    .fetch_one(&mut owner)
    .await
    .unwrap();
    assert_eq!(reason, "Priority normal to urgent");
    let later = Utc::now() + Duration::minutes(1);
    let after_raise =
        dashboard::team_dashboard(&mut conn, later, later.date_naive(), DashboardSpan::Day)
            .await
            .unwrap();
    let (was, is) = (
        next.depth.last().unwrap().counts,
        after_raise.depth.last().unwrap().counts,
    );
    assert_eq!((is.urgent, is.normal), (was.urgent + 1, was.normal - 1));
    assert_eq!(
        after_raise.depth[after_raise.depth.len() - 2].counts,
        next.depth[next.depth.len() - 2].counts
    );
    assert_eq!(
        dashboard::total_outcomes(&after_raise.outcomes),
        dashboard::total_outcomes(&next.outcomes)
    );

    drop(conn);
    drop(owner);
    adjudicator.close().await;
    db.cleanup().await;
}
