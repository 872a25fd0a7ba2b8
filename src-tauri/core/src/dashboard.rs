//! The supervisor's team dashboard: queue depth by priority over time, the
//! open claims' ages, prompt-pay exposure, each adjudicator's throughput and
//! the team's pend and denial rates.
//!
//! Everything is read in one snapshot from central. The past comes from the
//! status history (see migration 0019): depth at a moment is the open claims
//! now less every change of status since. The SQL only groups rows; the
//! arithmetic lives in pure functions here, tested without a database.

use std::collections::BTreeMap;

use chrono::{DateTime, Duration, NaiveDate, Utc};
use rust_decimal::Decimal;
use serde::{Deserialize, Serialize};
use sqlx::{Connection, PgConnection};
use uuid::Uuid;

use crate::aging::{self, AgingBand, DUE_SOON_DAYS, PROMPT_PAY_INTEREST_PERCENT};

/// How far back the dashboard looks, and in what steps.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, specta::Type)]
#[serde(rename_all = "snake_case")]
pub enum DashboardSpan {
    /// The last 24 hours, hour by hour.
    Day,
    /// The last 7 days, in 6-hour steps.
    Week,
    /// The last 30 days, day by day.
    Month,
}

impl DashboardSpan {
    /// Step between points, and how many steps.
    pub fn steps(self) -> (Duration, i32) {
        match self {
            Self::Day => (Duration::hours(1), 24),
            Self::Week => (Duration::hours(6), 28),
            Self::Month => (Duration::days(1), 30),
        }
    }
}

/// Open claims counted by priority. A pended claim counts under `pended`
/// alone: it waits on someone outside the team, not on an adjudicator.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, specta::Type)]
pub struct PriorityCounts {
    /// Urgent claims waiting.
    pub urgent: i32,
    /// High.
    pub high: i32,
    /// Normal.
    pub normal: i32,
    /// Low.
    pub low: i32,
    /// Pended, whatever their priority.
    pub pended: i32,
}

impl PriorityCounts {
    fn slot(&mut self, priority_rank: i16, pended: bool) -> &mut i32 {
        match (pended, priority_rank) {
            (true, _) => &mut self.pended,
            (false, 1) => &mut self.urgent,
            (false, 2) => &mut self.high,
            (false, 3) => &mut self.normal,
            _ => &mut self.low,
        }
    }

    /// Claims waiting on the team (pended ones aside).
    pub fn waiting(&self) -> i32 {
        self.urgent + self.high + self.normal + self.low
    }
}

/// The queue at one moment.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, specta::Type)]
pub struct DepthPoint {
    /// The moment.
    pub at: DateTime<Utc>,
    /// Claims open then.
    pub counts: PriorityCounts,
}

/// Open claims whose age since receipt falls in `[from_days, to_days]`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, specta::Type)]
pub struct AgingBucket {
    /// Youngest age in the band, in days.
    pub from_days: i32,
    /// None: and older.
    pub to_days: Option<i32>,
    /// Claims in the band.
    pub counts: PriorityCounts,
}

/// The age bands a claims inventory is usually reported in: a week, two,
/// the common 30- and 45-day prompt-pay limits, two months.
pub const AGING_BUCKETS: [(i32, Option<i32>); 6] = [
    (0, Some(7)),
    (8, Some(14)),
    (15, Some(30)),
    (31, Some(45)),
    (46, Some(60)),
    (61, None),
];

/// An open claim past or near its prompt-pay due date.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, specta::Type, sqlx::FromRow)]
pub struct PromptPayClaim {
    /// The claim.
    pub claim_id: Uuid,
    /// Its number.
    pub claim_number: String,
    /// 1 urgent … 4 low.
    pub priority_rank: i16,
    /// Its status.
    pub status: String,
    /// When payment is due.
    pub prompt_pay_due: NaiveDate,
    /// Billed.
    pub total_billed: Decimal,
    /// Who holds it now, if anyone.
    pub holder: Option<String>,
    /// Days to the due date, negative when past.
    #[sqlx(skip)]
    pub days_left: i32,
    /// Past due or due soon.
    #[sqlx(skip)]
    pub band: Option<AgingBand>,
    /// Interest if it were paid today (an upper bound: on the billed amount).
    #[sqlx(skip)]
    pub exposure: Decimal,
}

/// Prompt-pay standing of the open claims.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, specta::Type)]
pub struct PromptPay {
    /// Claims past due.
    pub overdue: i32,
    /// Billed on them.
    pub overdue_billed: Decimal,
    /// Interest owed if every overdue claim were paid today.
    pub exposure: Decimal,
    /// Due within [`DUE_SOON_DAYS`], today included.
    pub due_soon: i32,
    /// Billed on them.
    pub due_soon_billed: Decimal,
    /// What "soon" means, in days.
    pub due_soon_days: i32,
    /// Annual interest rate used.
    pub interest_percent: Decimal,
    /// The most urgent of them, the earliest due first (at most [`PROMPT_PAY_LIST`]).
    pub claims: Vec<PromptPayClaim>,
}

/// How many past- or near-due claims the dashboard lists.
pub const PROMPT_PAY_LIST: i64 = 50;

/// Decisions and pends in one step of the span.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, specta::Type)]
pub struct Outcomes {
    /// Approved in full.
    pub approved: i32,
    /// Partly approved.
    pub partially_approved: i32,
    /// Denied.
    pub denied: i32,
    /// Pended.
    pub pended: i32,
}

impl Outcomes {
    fn add(&mut self, to_status: &str, n: i32) {
        match to_status {
            "approved" => self.approved += n,
            "partially_approved" => self.partially_approved += n,
            "denied" => self.denied += n,
            "pended" => self.pended += n,
            _ => {}
        }
    }

    /// Claims decided (pends are not decisions).
    pub fn decided(&self) -> i32 {
        self.approved + self.partially_approved + self.denied
    }

    fn merge(&mut self, other: &Outcomes) {
        self.approved += other.approved;
        self.partially_approved += other.partially_approved;
        self.denied += other.denied;
        self.pended += other.pended;
    }
}

/// The outcomes of the step ending at `to`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, specta::Type)]
pub struct OutcomePoint {
    /// Start of the step (excluded).
    pub from: DateTime<Utc>,
    /// End of the step (included).
    pub to: DateTime<Utc>,
    /// What was decided or pended in it.
    pub outcomes: Outcomes,
}

/// One person's work over the span.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, specta::Type)]
pub struct AdjudicatorThroughput {
    /// Their login.
    pub login: String,
    /// What they decided or pended.
    pub outcomes: Outcomes,
    /// Mean hours from a claim's receipt to this person's decision, to 0.1 h
    /// (seed 004's processing hours); None without decisions.
    pub avg_processing_hours: Option<Decimal>,
}

/// Everything the dashboard shows, as of `as_of`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, specta::Type)]
pub struct TeamDashboard {
    /// When it was read.
    pub as_of: DateTime<Utc>,
    /// The span asked for.
    pub span: DashboardSpan,
    /// Oldest first; the last point is now.
    pub depth: Vec<DepthPoint>,
    /// Open claims by age.
    pub aging: Vec<AgingBucket>,
    /// Past- and near-due claims.
    pub prompt_pay: PromptPay,
    /// Oldest first.
    pub outcomes: Vec<OutcomePoint>,
    /// Most decisions first.
    pub adjudicators: Vec<AdjudicatorThroughput>,
}

const WAITING: [&str; 3] = ["received", "in_review", "appealed"];

/// One group of status changes: `bucket` counts steps back from now
/// (negative: stamped after `now`, a clock ahead of ours).
#[derive(Debug, Clone, sqlx::FromRow)]
pub struct Changes {
    /// Steps back from now.
    pub bucket: i32,
    /// The claim's priority now.
    pub priority_rank: i16,
    /// Status before (None: the claim arrived).
    pub from_status: Option<String>,
    /// Status after.
    pub to_status: String,
    /// How many such changes.
    pub n: i32,
}

/// Depth at now and at each step back: today's counts less the changes made
/// after each moment. Oldest first.
pub fn depth_series(
    now_counts: PriorityCounts,
    changes: &[Changes],
    now: DateTime<Utc>,
    step: Duration,
    steps: i32,
) -> Vec<DepthPoint> {
    let waiting = |s: Option<&str>| s.is_some_and(|s| WAITING.contains(&s));
    let pended = |s: Option<&str>| s == Some("pended");
    // Net change per step, each change in the step it happened in.
    let mut per_step = vec![PriorityCounts::default(); steps.max(0) as usize];
    for c in changes {
        let Some(slot) = per_step.get_mut(c.bucket.max(0) as usize) else {
            continue;
        };
        let (from, to) = (c.from_status.as_deref(), Some(c.to_status.as_str()));
        let w = i32::from(waiting(to)) - i32::from(waiting(from));
        *slot.slot(c.priority_rank, false) += w * c.n;
        let p = i32::from(pended(to)) - i32::from(pended(from));
        *slot.slot(c.priority_rank, true) += p * c.n;
    }
    let mut points = Vec::with_capacity(per_step.len() + 1);
    let mut counts = now_counts;
    points.push(DepthPoint { at: now, counts });
    for (k, delta) in per_step.iter().enumerate() {
        counts.urgent -= delta.urgent;
        counts.high -= delta.high;
        counts.normal -= delta.normal;
        counts.low -= delta.low;
        counts.pended -= delta.pended;
        points.push(DepthPoint {
            at: now - step * (k as i32 + 1),
            counts,
        });
    }
    points.reverse();
    points
}

/// Decisions and pends per step, oldest first; changes stamped after now are
/// left out (they belong to no step yet).
pub fn outcome_series(
    changes: &[Changes],
    now: DateTime<Utc>,
    step: Duration,
    steps: i32,
) -> Vec<OutcomePoint> {
    let mut per_step = vec![Outcomes::default(); steps.max(0) as usize];
    for c in changes {
        if let Some(o) = usize::try_from(c.bucket)
            .ok()
            .and_then(|b| per_step.get_mut(b))
        {
            o.add(&c.to_status, c.n);
        }
    }
    let mut points: Vec<OutcomePoint> = per_step
        .into_iter()
        .enumerate()
        .map(|(k, outcomes)| OutcomePoint {
            from: now - step * (k as i32 + 1),
            to: now - step * k as i32,
            outcomes,
        })
        .collect();
    points.reverse();
    points
}

/// Claims by age band; `ages` is (days since receipt, priority, pended, n).
pub fn aging_buckets(ages: &[(i32, i16, bool, i32)]) -> Vec<AgingBucket> {
    let mut buckets: Vec<AgingBucket> = AGING_BUCKETS
        .iter()
        .map(|&(from_days, to_days)| AgingBucket {
            from_days,
            to_days,
            counts: PriorityCounts::default(),
        })
        .collect();
    for &(age, rank, pended, n) in ages {
        // Received later today by a clock ahead of ours: as new as it gets.
        let age = age.max(0);
        if let Some(b) = buckets
            .iter_mut()
            .find(|b| age >= b.from_days && b.to_days.is_none_or(|to| age <= to))
        {
            *b.counts.slot(rank, pended) += n;
        }
    }
    buckets
}

/// Totals over (due date, billed, claims) groups of open claims due by
/// today + [`DUE_SOON_DAYS`]; interest per claim by [`aging::interest_exposure`].
pub fn prompt_pay_totals(
    groups: &[(NaiveDate, Decimal, i32)],
    today: NaiveDate,
    claims: Vec<PromptPayClaim>,
) -> PromptPay {
    let mut pay = PromptPay {
        overdue: 0,
        overdue_billed: Decimal::ZERO,
        exposure: Decimal::ZERO,
        due_soon: 0,
        due_soon_billed: Decimal::ZERO,
        due_soon_days: DUE_SOON_DAYS as i32,
        interest_percent: PROMPT_PAY_INTEREST_PERCENT,
        claims,
    };
    for &(due, billed, n) in groups {
        let count = Decimal::from(n);
        match aging::band(due, today).1 {
            AgingBand::Overdue => {
                pay.overdue += n;
                pay.overdue_billed += billed * count;
                pay.exposure += aging::interest_exposure(billed, due, today) * count;
            }
            AgingBand::DueSoon => {
                pay.due_soon += n;
                pay.due_soon_billed += billed * count;
            }
            AgingBand::OnTime => {}
        }
    }
    for c in &mut pay.claims {
        let (days, band) = aging::band(c.prompt_pay_due, today);
        c.days_left = days as i32;
        c.band = Some(band);
        c.exposure = aging::interest_exposure(c.total_billed, c.prompt_pay_due, today);
    }
    pay
}

/// Per person: (login, to_status, n, seconds from receipt summed over the
/// decisions). Most decisions first, then by login.
pub fn throughput(rows: &[(String, String, i32, Option<Decimal>)]) -> Vec<AdjudicatorThroughput> {
    let mut people: BTreeMap<&str, (Outcomes, Decimal)> = BTreeMap::new();
    for (login, to_status, n, seconds) in rows {
        let (outcomes, total) = people.entry(login).or_default();
        outcomes.add(to_status, *n);
        if to_status != "pended" {
            *total += seconds.unwrap_or_default();
        }
    }
    let mut out: Vec<AdjudicatorThroughput> = people
        .into_iter()
        .map(|(login, (outcomes, seconds))| AdjudicatorThroughput {
            login: login.to_string(),
            avg_processing_hours: (outcomes.decided() > 0).then(|| {
                (seconds / Decimal::from(3600) / Decimal::from(outcomes.decided())).round_dp(1)
            }),
            outcomes,
        })
        .collect();
    out.sort_by(|a, b| {
        b.outcomes
            .decided()
            .cmp(&a.outcomes.decided())
            .then_with(|| a.login.cmp(&b.login))
    });
    out
}

/// The team's outcomes over the whole span.
pub fn total_outcomes(points: &[OutcomePoint]) -> Outcomes {
    let mut total = Outcomes::default();
    for p in points {
        total.merge(&p.outcomes);
    }
    total
}

/// Reads the dashboard from central in one read-only snapshot. `today` is
/// the desk's calendar day, for due dates.
pub async fn team_dashboard(
    conn: &mut PgConnection,
    now: DateTime<Utc>,
    today: NaiveDate,
    span: DashboardSpan,
) -> Result<TeamDashboard, sqlx::Error> {
    let (step, steps) = span.steps();
    let step_secs = step.num_seconds() as f64;
    let since = now - step * steps;
    let mut tx = conn.begin().await?;
    sqlx::query("SET TRANSACTION ISOLATION LEVEL REPEATABLE READ, READ ONLY")
        .execute(&mut *tx)
        .await?;

    let mut now_counts = PriorityCounts::default();
    let open: Vec<(i16, bool, i32)> = sqlx::query_as(
        "SELECT priority_rank, pended, count(*)::int FROM claimdesk.queue_entry GROUP BY 1, 2",
    )
    .fetch_all(&mut *tx)
    .await?;
    for (rank, pended, n) in open {
        *now_counts.slot(rank, pended) += n;
    }

    let changes: Vec<Changes> = sqlx::query_as(
        "SELECT floor(extract(epoch FROM $1 - h.changed_at) / $2)::int AS bucket,
                c.priority_rank, h.from_status, h.to_status, count(*)::int AS n
         FROM claimdesk.claim_status_history h JOIN claimdesk.claim c ON c.id = h.claim_id
         WHERE h.changed_at > $3
         GROUP BY 1, 2, 3, 4",
    )
    .bind(now)
    .bind(step_secs)
    .bind(since)
    .fetch_all(&mut *tx)
    .await?;

    let ages: Vec<(i32, i16, bool, i32)> = sqlx::query_as(
        "SELECT floor(extract(epoch FROM $1 - received_at) / 86400)::int, priority_rank, pended, count(*)::int
         FROM claimdesk.queue_entry GROUP BY 1, 2, 3",
    )
    .bind(now)
    .fetch_all(&mut *tx)
    .await?;

    let horizon = today + Duration::days(DUE_SOON_DAYS);
    let due_groups: Vec<(NaiveDate, Decimal, i32)> = sqlx::query_as(
        "SELECT q.prompt_pay_due, c.total_billed, count(*)::int
         FROM claimdesk.queue_entry q JOIN claimdesk.claim c ON c.id = q.claim_id
         WHERE q.prompt_pay_due <= $1 GROUP BY 1, 2",
    )
    .bind(horizon)
    .fetch_all(&mut *tx)
    .await?;
    let due_claims: Vec<PromptPayClaim> = sqlx::query_as(
        "SELECT q.claim_id, c.claim_number, q.priority_rank, c.status, q.prompt_pay_due, c.total_billed,
                CASE WHEN q.lease_expires_at > $2 THEN q.lease_holder END AS holder
         FROM claimdesk.queue_entry q JOIN claimdesk.claim c ON c.id = q.claim_id
         WHERE q.prompt_pay_due <= $1
         ORDER BY q.prompt_pay_due, c.total_billed DESC, c.claim_number
         LIMIT $3",
    )
    .bind(horizon)
    .bind(now)
    .bind(PROMPT_PAY_LIST)
    .fetch_all(&mut *tx)
    .await?;

    let people: Vec<(String, String, i32, Option<Decimal>)> = sqlx::query_as(
        "SELECT h.changed_by, h.to_status, count(*)::int,
                sum(extract(epoch FROM h.changed_at - c.received_at))
         FROM claimdesk.claim_status_history h JOIN claimdesk.claim c ON c.id = h.claim_id
         WHERE h.changed_at > $1 AND h.changed_at <= $2
           AND h.to_status IN ('approved', 'partially_approved', 'denied', 'pended')
         GROUP BY 1, 2",
    )
    .bind(since)
    .bind(now)
    .fetch_all(&mut *tx)
    .await?;
    tx.commit().await?;

    Ok(TeamDashboard {
        as_of: now,
        span,
        depth: depth_series(now_counts, &changes, now, step, steps),
        aging: aging_buckets(&ages),
        prompt_pay: prompt_pay_totals(&due_groups, today, due_claims),
        outcomes: outcome_series(&changes, now, step, steps),
        adjudicators: throughput(&people),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn at(s: &str) -> DateTime<Utc> {
        s.parse().unwrap()
    }

    fn change(bucket: i32, rank: i16, from: Option<&str>, to: &str, n: i32) -> Changes {
        Changes {
            bucket,
            priority_rank: rank,
            from_status: from.map(str::to_string),
            to_status: to.to_string(),
            n,
        }
    }

    #[test]
    fn depth_walks_back_from_now() {
        let now = at("2026-03-10T12:00:00Z");
        let counts = PriorityCounts {
            urgent: 2,
            normal: 5,
            pended: 1,
            ..Default::default()
        };
        let changes = [
            // In the last hour: one urgent arrived, one normal decided.
            change(0, 1, None, "received", 1),
            change(0, 3, Some("in_review"), "approved", 1),
            // Two hours back: a normal claim pended.
            change(1, 3, Some("received"), "pended", 1),
            // A clock ahead of ours: counts as the last hour.
            change(-1, 3, None, "received", 1),
            // Received → in review moves nothing.
            change(2, 1, Some("received"), "in_review", 3),
        ];
        let depth = depth_series(counts, &changes, now, Duration::hours(1), 3);
        assert_eq!(depth.len(), 4);
        assert_eq!(depth[3].at, now);
        assert_eq!(depth[3].counts, counts);
        assert_eq!(depth[2].at, at("2026-03-10T11:00:00Z"));
        assert_eq!(
            depth[2].counts,
            PriorityCounts {
                urgent: 1,
                normal: 5,
                pended: 1,
                ..Default::default()
            }
        );
        assert_eq!(
            depth[1].counts,
            PriorityCounts {
                urgent: 1,
                normal: 6,
                pended: 0,
                ..Default::default()
            }
        );
        assert_eq!(depth[0].counts, depth[1].counts);
    }

    #[test]
    fn outcomes_fall_in_their_step() {
        let now = at("2026-03-10T12:00:00Z");
        let changes = [
            change(0, 3, Some("in_review"), "approved", 4),
            change(0, 2, Some("in_review"), "denied", 1),
            change(1, 3, Some("received"), "pended", 2),
            change(1, 3, None, "received", 9),
            change(-1, 3, Some("in_review"), "denied", 7),
        ];
        let points = outcome_series(&changes, now, Duration::hours(1), 2);
        assert_eq!(points.len(), 2);
        assert_eq!(points[1].to, now);
        assert_eq!(points[1].from, at("2026-03-10T11:00:00Z"));
        assert_eq!(
            points[1].outcomes,
            Outcomes {
                approved: 4,
                denied: 1,
                ..Default::default()
            }
        );
        assert_eq!(points[0].outcomes.pended, 2);
        let total = total_outcomes(&points);
        assert_eq!((total.decided(), total.pended), (5, 2));
    }

    #[test]
    fn ages_fall_in_bands_and_pended_apart() {
        let buckets = aging_buckets(&[
            (0, 1, false, 2),
            (-1, 3, false, 1),
            (7, 2, false, 1),
            (8, 2, false, 1),
            (45, 4, true, 3),
            (400, 3, false, 1),
        ]);
        assert_eq!(buckets.len(), AGING_BUCKETS.len());
        assert_eq!(
            buckets[0].counts,
            PriorityCounts {
                urgent: 2,
                high: 1,
                normal: 1,
                ..Default::default()
            }
        );
        assert_eq!(buckets[1].counts.high, 1);
        assert_eq!(buckets[3].counts.pended, 3);
        assert_eq!(buckets[3].counts.waiting(), 0);
        assert_eq!((buckets[5].from_days, buckets[5].to_days), (61, None));
        assert_eq!(buckets[5].counts.normal, 1);
    }

    #[test]
    fn prompt_pay_sums_each_claims_interest() {
        let today: NaiveDate = "2026-03-10".parse().unwrap();
        let d = |s: &str| s.parse::<NaiveDate>().unwrap();
        let m = |s: &str| s.parse::<Decimal>().unwrap();
        let pay = prompt_pay_totals(
            &[
                // 30 days late: 9.86 each, rounded per claim before summing.
                (d("2026-02-08"), m("1000.00"), 3),
                (d("2026-03-09"), m("100.00"), 1),
                (d("2026-03-10"), m("50.00"), 2),
                (d("2026-03-13"), m("10.00"), 1),
            ],
            today,
            vec![],
        );
        assert_eq!(pay.overdue, 4);
        assert_eq!(pay.overdue_billed, m("3100.00"));
        // 3 × 9.86 + 100 × 12 % / 365 = 0.03
        assert_eq!(pay.exposure, m("29.61"));
        assert_eq!(pay.due_soon, 3);
        assert_eq!(pay.due_soon_billed, m("110.00"));
    }

    #[test]
    fn throughput_averages_hours_over_decisions_only() {
        let m = |s: &str| Some(s.parse::<Decimal>().unwrap());
        let people = throughput(&[
            ("ana".into(), "approved".into(), 2, m("36000")),
            ("ana".into(), "denied".into(), 1, m("18000")),
            ("ana".into(), "pended".into(), 5, m("999999")),
            ("bo".into(), "pended".into(), 1, m("60")),
            ("cy".into(), "approved".into(), 3, m("32400")),
        ]);
        let logins: Vec<&str> = people.iter().map(|p| p.login.as_str()).collect();
        assert_eq!(logins, ["ana", "cy", "bo"]);
        // (10 h + 5 h) over 3 decisions
        assert_eq!(people[0].avg_processing_hours, m("5.0"));
        assert_eq!(people[0].outcomes.pended, 5);
        assert_eq!(people[1].avg_processing_hours, m("3.0"));
        assert_eq!(people[2].avg_processing_hours, None);
    }
}
