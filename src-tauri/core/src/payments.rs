//! The payment cycle: finalized claims paid once, grouped by payee (the
//! billing provider), each payee's payment and its 835 written in one
//! transaction with the claims it pays. A run killed between payees leaves
//! whole payments; the next run (the same one, resumed) pays only the
//! claims without a payment yet, so nothing is paid twice or skipped.

use chrono::{DateTime, NaiveDate, Utc};
use futures_util::StreamExt;
use rust_decimal::Decimal;
use sqlx::{PgConnection, PgPool};
use uuid::Uuid;

use crate::aging;
use crate::decision::add_adjustment;
use crate::fieldcrypt::{FieldCryptError, FieldKeys};
use crate::x12::remit::{
    self, Adjustment, ClaimPayment, ClaimStatus, Envelope, Payee, Payer, PaymentMethod,
    ProviderAdjustment, Remittance, ServicePayment,
};
use crate::Secret;

/// Why a run stopped. Each variant has a stable code.
#[derive(Debug, thiserror::Error)]
pub enum PaymentError {
    /// Central refused or went away; the payments committed stand.
    #[error("central database: {0}")]
    Database(#[from] sqlx::Error),
    /// A payee's tax id could not be opened with the field keys given.
    #[error("a payee's tax id could not be decrypted: {0}")]
    Keys(#[from] FieldCryptError),
    /// A run through another day is under way (killed, or still running).
    #[error(
        "a payment run through {0} is under way: finish it first (run it again with --through {0})"
    )]
    RunUnderWay(NaiveDate),
    /// The claims of a payee would not make a balanced 835; nothing was
    /// paid to them.
    #[error("the 835 for payee {npi} does not balance: {detail}")]
    Unbalanced {
        /// The payee.
        npi: String,
        /// What breaks (positions and amounts, no PHI).
        detail: String,
    },
    /// Writing a payment's 835 out failed after it was committed (the next
    /// run writes it again).
    #[error("the 835 could not be written: {0}")]
    Output(#[from] std::io::Error),
}

impl PaymentError {
    /// Stable code for scripts and the app.
    pub fn code(&self) -> &'static str {
        match self {
            Self::Database(_) => "payment_database",
            Self::Keys(_) => "payment_keys",
            Self::RunUnderWay(_) => "payment_run_under_way",
            Self::Unbalanced { .. } => "payment_unbalanced",
            Self::Output(_) => "payment_output",
        }
    }
}

/// What the run needs to know beyond the database.
#[derive(Debug, Clone)]
pub struct PaymentOptions {
    /// Us, in the 835.
    pub payer: Payer,
    /// ISA06 of our 835s.
    pub sender_id: String,
    /// The clock.
    pub now: DateTime<Utc>,
    /// When the money moves (BPR16), and the day interest is counted to.
    pub payment_date: NaiveDate,
}

impl PaymentOptions {
    /// The demo payer, paying on the clock's day.
    pub fn new(now: DateTime<Utc>) -> Self {
        Self {
            payer: Payer {
                name: "CLAIMDESK HEALTH PLAN".into(),
                company_id: "1987654321".into(),
                address: "1 PLAN WAY".into(),
                city: "SPRINGFIELD".into(),
                state: "IL".into(),
                zip: "62701".into(),
                phone: "8005550100".into(),
            },
            sender_id: "CLAIMDESK".into(),
            now,
            payment_date: now.date_naive(),
        }
    }
}

/// One payment made.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PaymentMade {
    /// The payment row.
    pub id: Uuid,
    /// Check number or EFT trace (TRN02).
    pub trace: String,
    /// The payee's NPI.
    pub payee_npi: String,
    /// Claims in the advice.
    pub claims: u32,
    /// BPR02.
    pub amount: Decimal,
    /// Prompt-pay interest in it.
    pub interest: Decimal,
}

/// What a run did.
#[derive(Debug, Clone, Default)]
pub struct RunReport {
    /// The run (resumed or new).
    pub run_id: Uuid,
    /// It was under way before this call.
    pub resumed: bool,
    /// Payments made by this call.
    pub payments: Vec<PaymentMade>,
}

// The claims a run pays: decided, released (routed ones approved), on or
// before the day, with no payment at their version yet.
const PAYABLE: &str = "c.status IN ('approved', 'partially_approved', 'denied')
      AND (NOT c.requires_approval OR c.approved_by IS NOT NULL)
      AND c.adjudicated_at::date <= $1
      AND NOT EXISTS (SELECT FROM claimdesk.payment_claim pc
                      WHERE pc.claim_id = c.id AND pc.kind = 'payment' AND pc.claim_version = c.version)";

/// Payees paid at once.
const IN_FLIGHT: usize = 2;

/// Pays every payable claim decided on or before `through`, a payee at a
/// time on each of two connections (`pool` needs two). `sent` is called with each payment and its 835 once it is
/// committed (to write the file); an error there stops the run, and the
/// payment stands (its 835 is in `payment.remit_835`).
pub async fn run(
    pool: &PgPool,
    keys: &FieldKeys,
    through: NaiveDate,
    options: &PaymentOptions,
    mut sent: impl FnMut(&PaymentMade, &str) -> std::io::Result<()>,
) -> Result<RunReport, PaymentError> {
    let mut conn = pool.acquire().await?;
    let under_way: Option<(Uuid, NaiveDate)> =
        sqlx::query_as("SELECT id, through FROM claimdesk.payment_run WHERE status = 'running'")
            .fetch_optional(&mut *conn)
            .await?;
    let (run_id, resumed) = match under_way {
        Some((id, day)) if day == through => (id, true),
        Some((_, day)) => return Err(PaymentError::RunUnderWay(day)),
        None => {
            let id = Uuid::now_v7();
            sqlx::query(
                "INSERT INTO claimdesk.payment_run (id, through, payment_date, started_at) VALUES ($1, $2, $3, $4)",
            )
            .bind(id)
            .bind(through)
            .bind(options.payment_date)
            .bind(options.now)
            .execute(&mut *conn)
            .await?;
            (id, false)
        }
    };
    let mut report = RunReport {
        run_id,
        resumed,
        payments: vec![],
    };
    let payees: Vec<Uuid> = sqlx::query_scalar(&format!(
        "SELECT DISTINCT coalesce(c.billing_provider_id, c.provider_id) FROM claimdesk.claim c
         WHERE {PAYABLE} ORDER BY 1"
    ))
    .bind(through)
    .fetch_all(&mut *conn)
    .await?;
    // Two payees at once, each on its own connection (the second core is
    // otherwise idle while one backend runs the claims' triggers); the
    // files are handed out in the order their payments commit.
    drop(conn);
    let mut paying = futures_util::stream::iter(payees)
        .map(|payee| async move {
            let mut conn = pool.acquire().await?;
            pay(&mut conn, keys, run_id, payee, through, options).await
        })
        .buffer_unordered(IN_FLIGHT);
    while let Some(done) = paying.next().await {
        if let Some((made, text)) = done? {
            sent(&made, &text)?;
            report.payments.push(made);
        }
    }
    let mut conn = pool.acquire().await?;
    sqlx::query(
        "UPDATE claimdesk.payment_run r SET status = 'complete', completed_at = $2,
             payments = (SELECT count(*) FROM claimdesk.payment p WHERE p.run_id = r.id),
             claims = (SELECT coalesce(sum(p.claims), 0) FROM claimdesk.payment p WHERE p.run_id = r.id),
             amount = (SELECT coalesce(sum(p.amount), 0) FROM claimdesk.payment p WHERE p.run_id = r.id)
         WHERE id = $1",
    )
    .bind(run_id)
    .bind(options.now)
    .execute(&mut *conn)
    .await?;
    Ok(report)
}

#[derive(sqlx::FromRow)]
struct PayableClaim {
    id: Uuid,
    version: i32,
    claim_number: String,
    claim_type: String,
    status: String,
    patient_account_number: Option<String>,
    frequency_code: String,
    place_of_service: Option<String>,
    facility_type_code: Option<String>,
    service_from: NaiveDate,
    service_to: NaiveDate,
    received_at: DateTime<Utc>,
    prompt_pay_due: NaiveDate,
    total_billed: Decimal,
    denial_group_code: Option<String>,
    denial_carc: Option<String>,
    member_number: String,
    first_name: String,
    last_name: String,
    line_of_business: Option<String>,
}

#[derive(sqlx::FromRow)]
struct PayableLine {
    claim_id: Uuid,
    line_number: i16,
    cpt_code: String,
    modifiers: Vec<String>,
    revenue_code: Option<String>,
    service_date: NaiveDate,
    units: Decimal,
    billed: Decimal,
    allowed: Option<Decimal>,
    deductible: Option<Decimal>,
    copay: Option<Decimal>,
    coinsurance: Option<Decimal>,
    paid: Option<Decimal>,
    group_code: Option<String>,
    carc: Option<String>,
    rarc: Vec<String>,
    adjustments: sqlx::types::Json<Vec<Adjustment>>,
}

/// CLP06 from the plan's line of business: 16 for Medicare Advantage (HMO
/// Medicare risk), MC for Medicaid, CI (commercial insurance) otherwise.
fn filing_indicator(line_of_business: Option<&str>) -> &'static str {
    match line_of_business {
        Some("medicare_advantage") => "16",
        Some("medicaid") => "MC",
        _ => "CI",
    }
}

/// A line's CAS: as decided when the decision carried them (claim_decide
/// since 0020), or from its figures for lines decided before (contractual
/// part, deductible, coinsurance, copay), and whatever is left unpaid
/// under the claim's denial or the line's own reason.
fn line_adjustments(l: &PayableLine, denial: Option<(&str, &str)>) -> Vec<Adjustment> {
    if !l.adjustments.is_empty() {
        return l.adjustments.0.clone();
    }
    let mut out: Vec<Adjustment> = vec![];
    let own = (
        l.group_code.as_deref().unwrap_or("CO"),
        l.carc.as_deref().unwrap_or("45"),
    );
    if let Some(allowed) = l.allowed.filter(|a| !a.is_zero()) {
        add_adjustment(&mut out, own.0, own.1, l.billed - allowed);
        add_adjustment(&mut out, "PR", "1", l.deductible.unwrap_or_default());
        add_adjustment(&mut out, "PR", "2", l.coinsurance.unwrap_or_default());
        add_adjustment(&mut out, "PR", "3", l.copay.unwrap_or_default());
    }
    let left =
        l.billed - l.paid.unwrap_or_default() - out.iter().map(|a| a.amount).sum::<Decimal>();
    let (group, carc) = denial.unwrap_or(own);
    add_adjustment(&mut out, group, carc, left);
    out
}

/// One payee's payment and its 835, in one transaction; `None` when nothing
/// was left to pay them (another run took their claims meanwhile).
async fn pay(
    conn: &mut PgConnection,
    keys: &FieldKeys,
    run_id: Uuid,
    payee: Uuid,
    through: NaiveDate,
    options: &PaymentOptions,
) -> Result<Option<(PaymentMade, String)>, PaymentError> {
    let mut tx = sqlx::Connection::begin(&mut *conn).await?;
    // Locked, so a second run at the same time skips them instead of
    // paying them again; the primary key of payment_claim is the backstop.
    let claims: Vec<PayableClaim> = sqlx::query_as(&format!(
        "SELECT c.id, c.version, c.claim_number, c.claim_type, c.status, c.patient_account_number,
                c.frequency_code, c.place_of_service, c.facility_type_code, c.service_from, c.service_to,
                c.received_at, c.prompt_pay_due, c.total_billed, c.denial_group_code, c.denial_carc,
                m.member_number, m.first_name, m.last_name, pl.line_of_business
         FROM claimdesk.claim c
         JOIN claimdesk.member m ON m.id = c.member_id
         LEFT JOIN claimdesk.policy po ON po.id = c.policy_id
         LEFT JOIN claimdesk.plan pl ON pl.id = po.plan_id
         WHERE (c.billing_provider_id = $2 OR (c.billing_provider_id IS NULL AND c.provider_id = $2)) AND {PAYABLE}
         ORDER BY c.claim_number
         FOR UPDATE OF c SKIP LOCKED"
    ))
    .bind(through)
    .bind(payee)
    .fetch_all(&mut *tx)
    .await?;
    if claims.is_empty() {
        tx.commit().await?;
        return Ok(None);
    }
    let ids: Vec<Uuid> = claims.iter().map(|c| c.id).collect();
    let lines: Vec<PayableLine> = sqlx::query_as(
        "SELECT claim_id, line_number, cpt_code, modifiers, revenue_code, service_date, units, billed, allowed,
                deductible, copay, coinsurance, paid, group_code, carc, rarc, adjustments
         FROM claimdesk.claim_line WHERE claim_id = ANY($1) ORDER BY claim_id, line_number",
    )
    .bind(&ids)
    .fetch_all(&mut *tx)
    .await?;
    let (npi, name, tin, version, provider_id): (String, String, Vec<u8>, i32, Uuid) =
        sqlx::query_as(
            "SELECT npi, coalesce(organization_name, btrim(coalesce(first_name, '') || ' ' || coalesce(last_name, ''))),
                    tax_id_ciphertext, tax_id_key_version, id
             FROM claimdesk.provider WHERE id = $1",
        )
        .bind(payee)
        .fetch_one(&mut *tx)
        .await?;
    let tax_id = keys.open("provider", "tax_id", provider_id, version, &tin)?;

    let mut paid_claims = vec![];
    let mut plb = vec![];
    let mut rows: (Vec<Uuid>, Vec<i32>, Vec<Decimal>, Vec<Decimal>) = Default::default();
    let mut interest_total = Decimal::ZERO;
    for c in &claims {
        let denial = c
            .denial_group_code
            .as_deref()
            .zip(c.denial_carc.as_deref())
            .filter(|_| c.status == "denied");
        let services: Vec<ServicePayment> = lines
            .iter()
            .filter(|l| l.claim_id == c.id)
            .map(|l| ServicePayment {
                procedure: l.cpt_code.clone(),
                modifiers: l.modifiers.clone(),
                revenue_code: l.revenue_code.clone(),
                billed: l.billed,
                paid: l.paid.unwrap_or_default(),
                units: l.units,
                date: Some(l.service_date),
                adjustments: line_adjustments(l, denial),
                control: Some(l.line_number.to_string()),
                allowed: l.allowed,
                remarks: l.rarc.clone(),
            })
            .collect();
        let paid: Decimal = services.iter().map(|s| s.paid).sum();
        let pr: Decimal = services
            .iter()
            .flat_map(|s| &s.adjustments)
            .filter(|a| a.group == "PR")
            .map(|a| a.amount)
            .sum();
        // The claim's lines make up its billed amount; a difference (an
        // old claim whose lines were not all kept) is the claim's own CAS.
        let lines_billed: Decimal = services.iter().map(|s| s.billed).sum();
        let mut claim_cas = vec![];
        if lines_billed != c.total_billed {
            let (g, r) = denial.unwrap_or(("CO", "45"));
            claim_cas.push(Adjustment {
                group: g.into(),
                carc: r.into(),
                amount: c.total_billed - lines_billed,
            });
        }
        let interest = if paid.is_zero() {
            Decimal::ZERO
        } else {
            aging::interest_exposure(paid, c.prompt_pay_due, options.payment_date)
        };
        if !interest.is_zero() {
            plb.push(ProviderAdjustment {
                reason: "L6".into(),
                reference: c.claim_number.clone(),
                amount: -interest,
            });
            interest_total += interest;
        }
        rows.0.push(c.id);
        rows.1.push(c.version);
        rows.2.push(paid);
        rows.3.push(interest);
        paid_claims.push(ClaimPayment {
            patient_account: c
                .patient_account_number
                .clone()
                .unwrap_or_else(|| c.claim_number.clone()),
            // An approved claim whose allowed amount went to the member's
            // deductible is processed, not denied, though nothing is paid.
            status: if c.status == "denied" {
                ClaimStatus::Denied
            } else {
                ClaimStatus::Primary
            },
            billed: c.total_billed,
            paid,
            patient_responsibility: pr,
            filing_indicator: filing_indicator(c.line_of_business.as_deref()).into(),
            payer_claim_number: c.claim_number.clone(),
            facility: if c.claim_type == "institutional" {
                c.facility_type_code.clone()
            } else {
                c.place_of_service.clone()
            },
            frequency: Some(c.frequency_code.clone()),
            adjustments: claim_cas,
            patient_last: Secret::new(c.last_name.clone()),
            patient_first: Secret::new(c.first_name.clone()),
            member_id: Secret::new(c.member_number.clone()),
            service_from: Some(c.service_from),
            service_to: Some(c.service_to),
            received: Some(c.received_at.date_naive()),
            lines: services,
        });
    }
    let trace: i64 = sqlx::query_scalar("SELECT nextval('claimdesk.payment_trace_seq')")
        .fetch_one(&mut *tx)
        .await?;
    let control: i64 = sqlx::query_scalar("SELECT nextval('claimdesk.intake_ack_control_seq')")
        .fetch_one(&mut *tx)
        .await?;
    let mut advice = Remittance {
        payer: options.payer.clone(),
        payee: Payee {
            name: name.to_uppercase(),
            npi: npi.clone(),
            tax_id,
        },
        method: PaymentMethod::Check,
        amount: Decimal::ZERO,
        payment_date: options.payment_date,
        trace: trace.to_string(),
        production_date: options.now.date_naive(),
        claims: paid_claims,
        provider_adjustments: plb,
    };
    advice.amount = advice.computed_amount();
    if advice.amount.is_zero() {
        advice.method = PaymentMethod::NonPayment;
    }
    let broken = remit::imbalances(&advice);
    if !broken.is_empty() {
        return Err(PaymentError::Unbalanced {
            npi,
            detail: format!("{broken:?}"),
        });
    }
    let mut text = Vec::new();
    remit::write(
        &mut text,
        &Envelope {
            sender: options.sender_id.clone(),
            receiver: npi.clone(),
            control: control as u32,
            date: options.now.date_naive(),
            time: options.now.format("%H%M").to_string(),
            usage: 'P',
        },
        &advice,
    )?;
    let text = String::from_utf8(text).expect("the 835 is ASCII");
    let id = Uuid::now_v7();
    let method = match advice.method {
        PaymentMethod::NonPayment => "none",
        PaymentMethod::Check => "check",
        PaymentMethod::Ach { .. } => "ach",
    };
    sqlx::query(
        "INSERT INTO claimdesk.payment (id, run_id, payee_provider_id, payee_npi, method, trace_number, amount,
             interest, claims, payment_date, remit_835)
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11)",
    )
    .bind(id)
    .bind(run_id)
    .bind(payee)
    .bind(&npi)
    .bind(method)
    .bind(trace.to_string())
    .bind(advice.amount)
    .bind(interest_total)
    .bind(claims.len() as i32)
    .bind(options.payment_date)
    .bind(&text)
    .execute(&mut *tx)
    .await?;
    sqlx::query(
        "INSERT INTO claimdesk.payment_claim (payment_id, claim_id, kind, claim_version, paid, interest)
         SELECT $1, t.c, 'payment', t.v, t.p, t.i FROM unnest($2::uuid[], $3::int[], $4::numeric[], $5::numeric[])
              AS t(c, v, p, i)",
    )
    .bind(id)
    .bind(&rows.0)
    .bind(&rows.1)
    .bind(&rows.2)
    .bind(&rows.3)
    .execute(&mut *tx)
    .await?;
    let reason = match advice.method {
        PaymentMethod::NonPayment => format!("Remitted (nothing paid): advice {trace}"),
        _ => format!("Paid: check {trace}"),
    };
    sqlx::query("SELECT set_config('claimdesk.status_reason', $1, true)")
        .bind(&reason)
        .execute(&mut *tx)
        .await?;
    sqlx::query(
        "UPDATE claimdesk.claim SET status = 'paid', total_paid = t.p, version = version + 1
         FROM unnest($1::uuid[], $2::numeric[]) AS t(c, p)
         WHERE id = t.c AND status IN ('approved', 'partially_approved')",
    )
    .bind(&rows.0)
    .bind(&rows.2)
    .execute(&mut *tx)
    .await?;
    sqlx::query(
        "SELECT set_config('claimdesk.status_reason', '', true),
                claimdesk.audit_append('payment', 'payment', $1::text, NULL, true, NULL,
                    jsonb_build_object('trace', $2::text, 'payee_npi', $3::text, 'claims', $4::uuid[],
                                       'amount', $5::numeric, 'interest', $6::numeric))",
    )
    .bind(id)
    .bind(trace.to_string())
    .bind(&npi)
    .bind(&rows.0)
    .bind(advice.amount)
    .bind(interest_total)
    .execute(&mut *tx)
    .await?;
    tx.commit().await?;
    let made = PaymentMade {
        id,
        trace: trace.to_string(),
        payee_npi: npi,
        claims: claims.len() as u32,
        amount: advice.amount,
        interest: interest_total,
    };
    Ok(Some((made, text)))
}

/// The check numbers (trace numbers) of a run's payments.
pub async fn traces(conn: &mut PgConnection, run_id: Uuid) -> Result<Vec<String>, sqlx::Error> {
    sqlx::query_scalar(
        "SELECT trace_number FROM claimdesk.payment WHERE run_id = $1 ORDER BY trace_number",
    )
    .bind(run_id)
    .fetch_all(conn)
    .await
}

/// The 835s of these payments (by trace number), for writing them again.
pub async fn advices(
    conn: &mut PgConnection,
    traces: &[String],
) -> Result<Vec<(String, String)>, sqlx::Error> {
    sqlx::query_as(
        "SELECT trace_number, remit_835 FROM claimdesk.payment WHERE trace_number = ANY($1) ORDER BY trace_number",
    )
    .bind(traces)
    .fetch_all(conn)
    .await
}
