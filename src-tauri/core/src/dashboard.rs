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
use crate::queue::OPEN_STATUSES;

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
    /// Where a change to `to_status` counts, if it is an outcome at all.
    fn slot(&mut self, to_status: &str) -> Option<&mut i32> {
        match to_status {
            "approved" => Some(&mut self.approved),
            "partially_approved" => Some(&mut self.partially_approved),
            "denied" => Some(&mut self.denied),
            "pended" => Some(&mut self.pended),
            _ => None,
        }
    }

    fn add(&mut self, to_status: &str, n: i32) {
        if let Some(count) = self.slot(to_status) {
            *count += n;
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
    /// Their sum over the span, the rates' basis.
    pub totals: Outcomes,
    /// Most decisions first.
    pub adjudicators: Vec<AdjudicatorThroughput>,
}

/// Where a status puts a claim: waiting on the team (false), pended (true)
/// or out of the queue (None).
fn queue_place(status: Option<&str>) -> Option<bool> {
    let status = status?;
    OPEN_STATUSES
        .contains(&status)
        .then_some(status == "pended")
}

/// One group of changes in the queue: `step` counts steps back from now
/// (negative: stamped after `now`, a clock ahead of ours).
#[derive(Debug, Clone, sqlx::FromRow)]
pub struct Changes {
    /// Steps back from now.
    pub step: i32,
    /// Status before (None: the claim arrived).
    pub from_status: Option<String>,
    /// Status after; the same as before when only the priority changed.
    pub to_status: String,
    /// Priority before (1 urgent … 4 low).
    pub prior_rank: Option<i16>,
    /// Priority after.
    pub priority_rank: Option<i16>,
    /// Who made them.
    pub changed_by: String,
    /// How many such changes.
    pub n: i32,
    /// Seconds from each claim's receipt to these changes, summed, when
    /// they are decisions.
    pub seconds: Option<Decimal>,
}

/// Rows written without a priority (before it was recorded, or by hand)
/// count as normal.
const UNKNOWN_RANK: i16 = 3;

impl Changes {
    /// The claim left one place in the queue and took another; a change of
    /// priority alone is not an outcome.
    fn is_outcome(&self) -> bool {
        self.from_status.as_deref() != Some(self.to_status.as_str())
    }
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
    // Net change per step, each change in the step it happened in: out of
    // its place before (status and priority), into its place after.
    let mut per_step = vec![PriorityCounts::default(); steps.max(0) as usize];
    for c in changes {
        let Some(slot) = per_step.get_mut(c.step.max(0) as usize) else {
            continue;
        };
        let after = c.priority_rank.unwrap_or(UNKNOWN_RANK);
        let before = c.prior_rank.unwrap_or(after);
        if let Some(place) = queue_place(Some(&c.to_status)) {
            *slot.slot(after, place) += c.n;
        }
        if let Some(place) = queue_place(c.from_status.as_deref()) {
            *slot.slot(before, place) -= c.n;
        }
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
    for c in changes.iter().filter(|c| c.is_outcome()) {
        if let Some(o) = usize::try_from(c.step)
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

/// Where the age bands start, as moments, oldest first: a claim received
/// after `now - (to + 1) days` is at most `to` days old.
pub fn age_bounds(now: DateTime<Utc>) -> Vec<DateTime<Utc>> {
    AGING_BUCKETS
        .iter()
        .rev()
        .filter_map(|&(_, to)| to.map(|to| now - Duration::days(i64::from(to) + 1)))
        .collect()
}

/// Claims by age band; `open` is (priority, pended, how many of
/// [`age_bounds`] the receipt is at or after, n).
pub fn aging_buckets(open: &[(i16, bool, i32, i32)]) -> Vec<AgingBucket> {
    let mut buckets: Vec<AgingBucket> = AGING_BUCKETS
        .iter()
        .map(|&(from_days, to_days)| AgingBucket {
            from_days,
            to_days,
            counts: PriorityCounts::default(),
        })
        .collect();
    let last = buckets.len() - 1;
    for &(rank, pended, after, n) in open {
        // After every bound: the youngest band; before all: the oldest.
        let band = last.saturating_sub(usize::try_from(after).unwrap_or(0));
        *buckets[band].counts.slot(rank, pended) += n;
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

/// Each person's decisions and pends within the span (changes stamped
/// after now and changes of priority alone left out). Most decisions
/// first, then by login.
pub fn throughput(changes: &[Changes]) -> Vec<AdjudicatorThroughput> {
    let mut people: BTreeMap<&str, (Outcomes, Decimal)> = BTreeMap::new();
    for c in changes.iter().filter(|c| c.step >= 0 && c.is_outcome()) {
        if Outcomes::default().slot(&c.to_status).is_none() {
            continue; // arrivals, voids: nobody's throughput
        }
        let (outcomes, total) = people.entry(&c.changed_by).or_default();
        outcomes.add(&c.to_status, c.n);
        if c.to_status != "pended" {
            *total += c.seconds.unwrap_or_default();
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
    let mut tx = conn.begin().await?;
    sqlx::query("SET TRANSACTION ISOLATION LEVEL REPEATABLE READ, READ ONLY")
        .execute(&mut *tx)
        .await?;

    let open: Vec<(i16, bool, i32, i32)> =
        sqlx::query_as("SELECT * FROM claimdesk.team_open_claims($1)")
            .bind(age_bounds(now))
            .fetch_all(&mut *tx)
            .await?;
    let mut now_counts = PriorityCounts::default();
    for &(rank, pended, _, n) in &open {
        *now_counts.slot(rank, pended) += n;
    }

    let changes: Vec<Changes> =
        sqlx::query_as("SELECT * FROM claimdesk.team_queue_changes($1, $2, $3)")
            .bind(now)
            .bind(step)
            .bind(steps)
            .fetch_all(&mut *tx)
            .await?;

    let horizon = today + Duration::days(DUE_SOON_DAYS);
    let due_groups: Vec<(NaiveDate, Decimal, i32)> =
        sqlx::query_as("SELECT * FROM claimdesk.team_due_claims($1)")
            .bind(horizon)
            .fetch_all(&mut *tx)
            .await?;
    let due_claims: Vec<PromptPayClaim> = sqlx::query_as(
        "SELECT q.claim_id, c.claim_number, q.priority_rank, c.status, q.prompt_pay_due, q.total_billed,
                CASE WHEN q.lease_expires_at > $2 THEN q.lease_holder END AS holder
         FROM claimdesk.queue_entry q JOIN claimdesk.claim c ON c.id = q.claim_id
         WHERE q.prompt_pay_due <= $1
         ORDER BY q.prompt_pay_due, q.total_billed DESC, c.claim_number
         LIMIT $3",
    )
    .bind(horizon)
    .bind(now)
    .bind(PROMPT_PAY_LIST)
    .fetch_all(&mut *tx)
    .await?;

    tx.commit().await?;

    let outcomes = outcome_series(&changes, now, step, steps);
    Ok(TeamDashboard {
        as_of: now,
        span,
        depth: depth_series(now_counts, &changes, now, step, steps),
        aging: aging_buckets(&open),
        prompt_pay: prompt_pay_totals(&due_groups, today, due_claims),
        totals: total_outcomes(&outcomes),
        outcomes,
        adjudicators: throughput(&changes),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn at(s: &str) -> DateTime<Utc> {
        s.parse().unwrap()
    }

    fn change(step: i32, rank: i16, from: Option<&str>, to: &str, n: i32) -> Changes {
        Changes {
            step,
            from_status: from.map(str::to_string),
            to_status: to.to_string(),
            prior_rank: from.map(|_| rank),
            priority_rank: Some(rank),
            changed_by: "ana".into(),
            n,
            seconds: None,
        }
    }

    fn by(who: &str, step: i32, from: &str, to: &str, n: i32, seconds: &str) -> Changes {
        Changes {
            changed_by: who.into(),
            seconds: Some(seconds.parse().unwrap()),
            ..change(step, 3, Some(from), to, n)
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
    fn a_change_of_priority_moves_a_claim_between_lines_and_is_no_outcome() {
        let now = at("2026-03-10T12:00:00Z");
        let counts = PriorityCounts {
            urgent: 3,
            normal: 4,
            ..Default::default()
        };
        // Raised from normal to urgent in the last hour, still in review.
        let raised = Changes {
            prior_rank: Some(3),
            priority_rank: Some(1),
            ..change(0, 3, Some("in_review"), "in_review", 1)
        };
        let depth = depth_series(
            counts,
            std::slice::from_ref(&raised),
            now,
            Duration::hours(1),
            1,
        );
        assert_eq!(
            depth[0].counts,
            PriorityCounts {
                urgent: 2,
                normal: 5,
                ..Default::default()
            }
        );
        let outcomes = outcome_series(&[raised], now, Duration::hours(1), 1);
        assert_eq!(outcomes[0].outcomes, Outcomes::default());
        // A pended claim raised stays pended.
        let pended = Changes {
            prior_rank: Some(3),
            priority_rank: Some(1),
            ..change(0, 3, Some("pended"), "pended", 2)
        };
        let depth = depth_series(counts, &[pended], now, Duration::hours(1), 1);
        assert_eq!(depth[0].counts, counts);
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
        let now = at("2026-03-10T12:00:00Z");
        let bounds = age_bounds(now);
        // Oldest first: 61, 46, 31, 15 and 8 days back.
        assert_eq!(bounds.len(), AGING_BUCKETS.len() - 1);
        assert_eq!(bounds[0], now - Duration::days(61));
        assert_eq!(bounds[4], now - Duration::days(8));
        let buckets = aging_buckets(&[
            // After all five bounds: received within the week.
            (1, false, 5, 2),
            (2, false, 5, 1),
            (2, false, 4, 1),
            (4, true, 2, 3),
            // Before every bound: 61 days or more.
            (3, false, 0, 1),
        ]);
        assert_eq!(buckets.len(), AGING_BUCKETS.len());
        assert_eq!(
            buckets[0].counts,
            PriorityCounts {
                urgent: 2,
                high: 1,
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
            by("ana", 0, "in_review", "approved", 2, "36000"),
            by("ana", 3, "received", "denied", 1, "18000"),
            by("ana", 1, "in_review", "pended", 5, "999999"),
            // Stamped after now, and a change of priority: neither counts.
            by("ana", -1, "in_review", "approved", 4, "1"),
            by("ana", 0, "pended", "pended", 7, "1"),
            by("bo", 0, "received", "pended", 1, "60"),
            by("cy", 2, "in_review", "approved", 3, "32400"),
            // Arrivals are nobody's throughput.
            by("intake", 0, "received", "received", 0, "0"),
            Changes {
                changed_by: "intake".into(),
                ..change(0, 3, None, "received", 9)
            },
        ]);
        let logins: Vec<&str> = people.iter().map(|p| p.login.as_str()).collect();
        assert_eq!(logins, ["ana", "cy", "bo"]);
        // (10 h + 5 h) over 3 decisions
        assert_eq!(people[0].avg_processing_hours, m("5.0"));
        assert_eq!(people[0].outcomes.pended, 5);
        assert_eq!(people[0].outcomes.approved, 2);
        assert_eq!(people[1].avg_processing_hours, m("3.0"));
        assert_eq!(people[2].avg_processing_hours, None);
    }
}
