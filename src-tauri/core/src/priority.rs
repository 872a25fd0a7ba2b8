//! Priority scoring at intake (seed 001's categorisation, without the black
//! box): explicit rules, each leaving a reason; the strongest rule sets the
//! priority, and when no rule decides, the claim is normal.

use std::collections::HashSet;

use chrono::NaiveDate;
use rust_decimal::Decimal;
use serde::Serialize;
use uuid::Uuid;

/// Queue priority, most urgent first. Seed 001's urgent/standard/routine map
/// to urgent/normal/low.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, specta::Type)]
#[serde(rename_all = "snake_case")]
pub enum Priority {
    /// Emergencies and overdue claims.
    Urgent,
    /// Large, risky or nearly due claims.
    High,
    /// Everything else.
    Normal,
    /// Routine preventive care.
    Low,
}

impl Priority {
    /// The database's `priority_rank`: 1 for urgent to 4 for low.
    pub fn rank(self) -> i16 {
        match self {
            Self::Urgent => 1,
            Self::High => 2,
            Self::Normal => 3,
            Self::Low => 4,
        }
    }

    /// The database spelling.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Urgent => "urgent",
            Self::High => "high",
            Self::Normal => "normal",
            Self::Low => "low",
        }
    }
}

/// Why a rule fired.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, serde::Deserialize, specta::Type)]
pub struct Reason {
    /// Stable rule name.
    pub rule: String,
    /// What in the claim triggered it.
    pub detail: String,
}

/// The outcome: priority, reasons and how sure the rules are.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, specta::Type)]
pub struct Scored {
    /// The priority.
    pub priority: Priority,
    /// Every rule that fired (the fallback when none did).
    pub reasons: Vec<Reason>,
    /// 0.00–1.00.
    #[specta(type = String)]
    pub confidence: Decimal,
}

/// What the rules look at.
#[derive(Debug, Clone, PartialEq)]
pub struct ClaimFacts {
    /// Procedure codes on the lines.
    pub cpts: Vec<String>,
    /// Diagnosis codes.
    pub icd10: Vec<String>,
    /// Place of service.
    pub place_of_service: String,
    /// Total billed.
    pub billed: Decimal,
    /// Prompt-pay due date.
    pub due: NaiveDate,
    /// Risk flag severity, if any (low, medium, high, critical).
    pub risk_severity: Option<String>,
}

/// The rule set's parameters, kept as data so a payer can tune them.
#[derive(Debug, Clone, PartialEq)]
pub struct Rules {
    /// Procedures that are emergency care.
    pub emergency_cpts: HashSet<String>,
    /// Diagnoses that make a claim urgent.
    pub acute_icd10: HashSet<String>,
    /// Procedures that alone make a claim routine.
    pub routine_cpts: HashSet<String>,
    /// Billed amount from which a claim is high priority.
    pub high_amount: Decimal,
    /// Days before the due date from which a claim is high priority.
    pub due_soon_days: i64,
}

/// Scores a claim on `today`. Pure: same facts, same day, same answer.
pub fn score(facts: &ClaimFacts, rules: &Rules, today: NaiveDate) -> Scored {
    let mut fired: Vec<(Priority, Decimal, Reason)> = Vec::new();
    let fire = |fired: &mut Vec<(Priority, Decimal, Reason)>,
                p,
                confidence: &str,
                rule: &str,
                detail: String| {
        fired.push((
            p,
            confidence.parse().expect("literal"),
            Reason {
                rule: rule.into(),
                detail,
            },
        ));
    };
    if let Some(cpt) = facts
        .cpts
        .iter()
        .find(|c| rules.emergency_cpts.contains(*c))
    {
        fire(
            &mut fired,
            Priority::Urgent,
            "0.95",
            "emergency_procedure",
            format!("procedure {cpt}"),
        );
    }
    if facts.place_of_service == "23" {
        fire(
            &mut fired,
            Priority::Urgent,
            "0.90",
            "emergency_room",
            "place of service 23".into(),
        );
    }
    if let Some(dx) = facts.icd10.iter().find(|d| rules.acute_icd10.contains(*d)) {
        fire(
            &mut fired,
            Priority::Urgent,
            "0.90",
            "acute_diagnosis",
            format!("diagnosis {dx}"),
        );
    }
    let days_left = (facts.due - today).num_days();
    if days_left < 0 {
        fire(
            &mut fired,
            Priority::Urgent,
            "0.95",
            "prompt_pay_overdue",
            format!("due {} ({} days ago)", facts.due, -days_left),
        );
    } else if days_left <= rules.due_soon_days {
        fire(
            &mut fired,
            Priority::High,
            "0.90",
            "prompt_pay_due_soon",
            format!("due {} (in {days_left} days)", facts.due),
        );
    }
    if facts.billed >= rules.high_amount {
        fire(
            &mut fired,
            Priority::High,
            "0.85",
            "high_billed_amount",
            format!("billed {}", facts.billed),
        );
    }
    if let Some(sev) = facts
        .risk_severity
        .as_deref()
        .filter(|s| matches!(*s, "high" | "critical"))
    {
        fire(
            &mut fired,
            Priority::High,
            "0.80",
            "risk_flag",
            format!("{sev} risk flag"),
        );
    }
    if fired.is_empty()
        && !facts.cpts.is_empty()
        && facts.cpts.iter().all(|c| rules.routine_cpts.contains(c))
    {
        fire(
            &mut fired,
            Priority::Low,
            "0.80",
            "routine_preventive",
            "preventive services only".into(),
        );
    }
    let Some(top) = fired.iter().map(|f| f.0).min() else {
        return Scored {
            priority: Priority::Normal,
            reasons: vec![Reason {
                rule: "fallback".into(),
                detail: "no rule decided; normal by default".into(),
            }],
            confidence: "0.50".parse().expect("literal"),
        };
    };
    let confidence = fired
        .iter()
        .filter(|f| f.0 == top)
        .map(|f| f.1)
        .max()
        .unwrap_or_default();
    Scored {
        priority: top,
        reasons: fired.into_iter().map(|f| f.2).collect(),
        confidence,
    }
}

/// The default rules, read from the reference tables: emergency procedures
/// and acute diagnoses are flagged there; preventive and immunization
/// procedures are routine.
pub async fn rules_from_reference(conn: &mut sqlx::PgConnection) -> Result<Rules, sqlx::Error> {
    let emergency_cpts: Vec<String> =
        sqlx::query_scalar("SELECT code FROM claimdesk.cpt_code WHERE is_emergency")
            .fetch_all(&mut *conn)
            .await?;
    let acute_icd10: Vec<String> =
        sqlx::query_scalar("SELECT code FROM claimdesk.icd10_code WHERE is_acute")
            .fetch_all(&mut *conn)
            .await?;
    let routine_cpts: Vec<String> = sqlx::query_scalar(
        "SELECT code FROM claimdesk.cpt_code WHERE benefit_category IN ('preventive', 'immunization')",
    )
    .fetch_all(&mut *conn)
    .await?;
    Ok(Rules {
        emergency_cpts: emergency_cpts.into_iter().collect(),
        acute_icd10: acute_icd10.into_iter().collect(),
        routine_cpts: routine_cpts.into_iter().collect(),
        high_amount: Decimal::new(5_000, 0),
        due_soon_days: 5,
    })
}

/// Re-scores open claims whose due date is near or past, so they rise in
/// the queue as prompt-pay deadlines approach. Only raises priority; returns
/// how many claims changed. Run daily (`claimdesk-admin rescore`).
pub async fn rescore_due(
    conn: &mut sqlx::PgConnection,
    rules: &Rules,
    today: NaiveDate,
) -> Result<u64, sqlx::Error> {
    #[derive(sqlx::FromRow)]
    struct Row {
        id: Uuid,
        priority_rank: i16,
        place_of_service: Option<String>,
        total_billed: Decimal,
        prompt_pay_due: NaiveDate,
        risk_severity: Option<String>,
        cpts: Vec<String>,
        icd10: Vec<String>,
    }
    let horizon = today + chrono::Duration::days(rules.due_soon_days);
    let rows: Vec<Row> = sqlx::query_as(
        "SELECT c.id, c.priority_rank, c.place_of_service, c.total_billed, c.prompt_pay_due, c.risk_severity,
                ARRAY(SELECT cpt_code FROM claimdesk.claim_line l WHERE l.claim_id = c.id) AS cpts,
                ARRAY(SELECT icd10_code FROM claimdesk.claim_diagnosis d WHERE d.claim_id = c.id) AS icd10
         FROM claimdesk.claim c
         WHERE c.status IN ('received', 'in_review', 'appealed', 'pended') AND c.prompt_pay_due <= $1
           AND c.priority_rank > 1",
    )
    .bind(horizon)
    .fetch_all(&mut *conn)
    .await?;
    let mut ids = Vec::new();
    let mut priorities = Vec::new();
    let mut reasons = Vec::new();
    let mut confidences = Vec::new();
    for r in rows {
        let facts = ClaimFacts {
            cpts: r.cpts,
            icd10: r.icd10,
            place_of_service: r.place_of_service.unwrap_or_default(),
            billed: r.total_billed,
            due: r.prompt_pay_due,
            risk_severity: r.risk_severity,
        };
        let s = score(&facts, rules, today);
        if s.priority.rank() < r.priority_rank {
            ids.push(r.id);
            priorities.push(s.priority.as_str().to_string());
            reasons.push(serde_json::to_value(&s.reasons).expect("reasons serialise"));
            confidences.push(s.confidence);
        }
    }
    let done = sqlx::query(
        "UPDATE claimdesk.claim c SET priority = u.priority, priority_reasons = u.reasons, priority_confidence = u.confidence
         FROM unnest($1::uuid[], $2::text[], $3::jsonb[], $4::numeric[]) AS u(id, priority, reasons, confidence)
         WHERE c.id = u.id",
    )
    .bind(&ids)
    .bind(&priorities)
    .bind(&reasons)
    .bind(&confidences)
    .execute(&mut *conn)
    .await?;
    Ok(done.rows_affected())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn rules() -> Rules {
        Rules {
            emergency_cpts: ["99285".to_string()].into(),
            acute_icd10: ["I21.9".to_string()].into(),
            routine_cpts: ["99396".to_string(), "90471".to_string()].into(),
            high_amount: "5000".parse().unwrap(),
            due_soon_days: 5,
        }
    }

    fn facts(cpts: &[&str], billed: &str, due: NaiveDate) -> ClaimFacts {
        ClaimFacts {
            cpts: cpts.iter().map(|s| s.to_string()).collect(),
            icd10: vec!["J06.9".into()],
            place_of_service: "11".into(),
            billed: billed.parse().unwrap(),
            due,
            risk_severity: None,
        }
    }

    const TODAY: NaiveDate = NaiveDate::from_ymd_opt(2026, 11, 21).unwrap();
    const LATER: NaiveDate = NaiveDate::from_ymd_opt(2026, 12, 21).unwrap();

    #[test]
    fn strongest_rule_wins_and_every_reason_is_kept() {
        let s = score(&facts(&["99285"], "9000", LATER), &rules(), TODAY);
        assert_eq!(s.priority, Priority::Urgent);
        let rules_fired: Vec<&str> = s.reasons.iter().map(|r| r.rule.as_str()).collect();
        assert_eq!(rules_fired, ["emergency_procedure", "high_billed_amount"]);
        assert_eq!(s.confidence, "0.95".parse().unwrap());
    }

    #[test]
    fn nearing_due_date_rescores_upward() {
        let f = facts(
            &["99213"],
            "100",
            NaiveDate::from_ymd_opt(2026, 11, 30).unwrap(),
        );
        assert_eq!(
            score(&f, &rules(), NaiveDate::from_ymd_opt(2026, 11, 1).unwrap()).priority,
            Priority::Normal
        );
        assert_eq!(
            score(&f, &rules(), NaiveDate::from_ymd_opt(2026, 11, 26).unwrap()).priority,
            Priority::High
        );
        assert_eq!(
            score(&f, &rules(), NaiveDate::from_ymd_opt(2026, 12, 1).unwrap()).priority,
            Priority::Urgent
        );
    }

    #[test]
    fn fallback_is_normal_and_routine_is_low() {
        let s = score(&facts(&["99213"], "100", LATER), &rules(), TODAY);
        assert_eq!(
            (s.priority, s.reasons[0].rule.as_str()),
            (Priority::Normal, "fallback")
        );
        assert_eq!(s.confidence, "0.50".parse().unwrap());
        assert_eq!(
            score(&facts(&["99396", "90471"], "300", LATER), &rules(), TODAY).priority,
            Priority::Low
        );
        let mut risky = facts(&["99213"], "100", LATER);
        risky.risk_severity = Some("critical".into());
        assert_eq!(score(&risky, &rules(), TODAY).priority, Priority::High);
    }
}
