//! The 835 health care claim payment/advice (005010X221A1): one per payee
//! and payment, written by the payment cycle and read back (by this module,
//! with intake's segment reader) to prove what was sent. Money is
//! `Decimal` throughout, and every balancing rule of the TR3 is checked by
//! [`imbalances`] before a file is written:
//!
//! - per line: SVC02 − SVC03 = Σ the line's CAS amounts;
//! - per claim: CLP03 − CLP04 = Σ claim and line CAS amounts, and CLP05 =
//!   Σ the PR (patient responsibility) amounts;
//! - per file: BPR02 = Σ CLP04 − Σ PLB amounts.
//!
//! Prompt-pay interest is paid at the provider level, PLB L6 with the
//! payer's claim number as its reference (negative: it adds to the
//! payment), so the claim still balances on its billed amount.

use std::fmt::Write as _;
use std::io::{self, Read, Write};

use chrono::NaiveDate;
use rust_decimal::Decimal;

use super::ack::{clean, Out};
use super::reader::{ReadError, Segment, SegmentReader};
use crate::Secret;

/// The implementation guide written.
pub const GUIDE: &str = "005010X221A1";

/// How the money moves (BPR04).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum PaymentMethod {
    /// An ACH credit (CCP+ addenda), with the banks' routing and accounts.
    Ach {
        /// The payer's bank: ABA routing number and account.
        payer_bank: BankAccount,
        /// The payee's.
        payee_bank: BankAccount,
    },
    /// A paper check; the trace number is the check number.
    Check,
    /// Nothing paid (all denied, or reversals net of corrections): the
    /// advice alone.
    NonPayment,
}

/// A bank account on a BPR.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BankAccount {
    /// ABA routing number (9 digits).
    pub routing: String,
    /// Account number: kept secret, it moves money.
    pub account: Secret<String>,
}

/// A party of the advice: the payer (1000A) or the payee (1000B).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Payer {
    /// N102.
    pub name: String,
    /// TRN03 and BPR10: "1" and the payer's federal tax id.
    pub company_id: String,
    /// N3.
    pub address: String,
    /// N401..N403.
    pub city: String,
    /// State.
    pub state: String,
    /// ZIP.
    pub zip: String,
    /// PER*BL: the technical contact's telephone.
    pub phone: String,
}

/// The provider paid (1000B).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Payee {
    /// N102.
    pub name: String,
    /// N104 with N103 XX.
    pub npi: String,
    /// REF*TJ: kept secret, it may be an SSN for a sole practitioner.
    pub tax_id: Secret<String>,
}

/// One CAS adjustment (group CO, PR, OA, PI or CR; the CARC; the amount,
/// negative on a reversal): the same record central keeps on each line.
pub use crate::decision::CasAdjustment as Adjustment;

/// CLP02, the claim's status in this advice.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ClaimStatus {
    /// 1: processed as primary.
    Primary,
    /// 4: denied.
    Denied,
    /// 22: reversal of a previous payment.
    Reversal,
}

impl ClaimStatus {
    /// The code.
    pub fn code(self) -> &'static str {
        match self {
            Self::Primary => "1",
            Self::Denied => "4",
            Self::Reversal => "22",
        }
    }

    fn parse(code: &str) -> Option<Self> {
        match code {
            "1" => Some(Self::Primary),
            "4" => Some(Self::Denied),
            "22" => Some(Self::Reversal),
            _ => None,
        }
    }
}

/// A service line's payment (2110).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ServicePayment {
    /// SVC01-2: the procedure (HCPCS/CPT), or the revenue code with NU
    /// when the line has no procedure.
    pub procedure: String,
    /// SVC01-3..: modifiers.
    pub modifiers: Vec<String>,
    /// SVC04: the revenue code (institutional).
    pub revenue_code: Option<String>,
    /// SVC02.
    pub billed: Decimal,
    /// SVC03.
    pub paid: Decimal,
    /// SVC05.
    pub units: Decimal,
    /// DTM*472.
    pub date: Option<NaiveDate>,
    /// The line's CAS.
    pub adjustments: Vec<Adjustment>,
    /// REF*6R: the provider's line control number (the line number here).
    pub control: Option<String>,
    /// AMT*B6: the allowed amount.
    pub allowed: Option<Decimal>,
    /// LQ*HE: remark codes (RARC).
    pub remarks: Vec<String>,
}

/// A claim's payment (2100).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ClaimPayment {
    /// CLP01: the provider's claim reference (patient account number).
    pub patient_account: String,
    /// CLP02.
    pub status: ClaimStatus,
    /// CLP03.
    pub billed: Decimal,
    /// CLP04.
    pub paid: Decimal,
    /// CLP05: what the patient owes.
    pub patient_responsibility: Decimal,
    /// CLP06: claim filing indicator (12 PPO, HM HMO, MC Medicaid …).
    pub filing_indicator: String,
    /// CLP07: our claim number.
    pub payer_claim_number: String,
    /// CLP08: place of service or facility type.
    pub facility: Option<String>,
    /// CLP09: frequency code.
    pub frequency: Option<String>,
    /// Claim-level CAS.
    pub adjustments: Vec<Adjustment>,
    /// NM1*QC: the patient.
    pub patient_last: Secret<String>,
    /// First name.
    pub patient_first: Secret<String>,
    /// NM109 with MI: the member id.
    pub member_id: Secret<String>,
    /// DTM*232.
    pub service_from: Option<NaiveDate>,
    /// DTM*233.
    pub service_to: Option<NaiveDate>,
    /// DTM*050: when we received it.
    pub received: Option<NaiveDate>,
    /// The lines.
    pub lines: Vec<ServicePayment>,
}

impl ClaimPayment {
    /// This payment taken back (CLP02 22): "all original charge, payment
    /// and adjustment amounts are negated" (TR3 1.10.2.8), at the same level
    /// of detail as the original; units stay as they were. The correction,
    /// if any, follows it in the same advice.
    pub fn reversal(&self) -> Self {
        let neg = |a: &Adjustment| Adjustment {
            amount: -a.amount,
            ..a.clone()
        };
        Self {
            status: ClaimStatus::Reversal,
            billed: -self.billed,
            paid: -self.paid,
            patient_responsibility: -self.patient_responsibility,
            adjustments: self.adjustments.iter().map(neg).collect(),
            lines: self
                .lines
                .iter()
                .map(|l| ServicePayment {
                    billed: -l.billed,
                    paid: -l.paid,
                    adjustments: l.adjustments.iter().map(neg).collect(),
                    allowed: l.allowed.map(|a| -a),
                    ..l.clone()
                })
                .collect(),
            ..self.clone()
        }
    }
}

/// A provider-level adjustment (PLB): positive takes money back (WO
/// overpayment recovery), negative adds to the payment (L6 interest).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ProviderAdjustment {
    /// PLB03-1: L6 interest, WO overpayment recovery, FB forwarding balance …
    pub reason: String,
    /// PLB03-2: what it refers to (a claim number for L6 and WO).
    pub reference: String,
    /// PLB04.
    pub amount: Decimal,
}

/// One 835: a payment (or none) to one payee, with its claims.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Remittance {
    /// Who pays.
    pub payer: Payer,
    /// Who is paid.
    pub payee: Payee,
    /// How.
    pub method: PaymentMethod,
    /// BPR02: the money moved.
    pub amount: Decimal,
    /// BPR16: the day it moves (effective date).
    pub payment_date: NaiveDate,
    /// TRN02: the EFT trace or check number.
    pub trace: String,
    /// DTM*405: when the advice was produced.
    pub production_date: NaiveDate,
    /// The claims.
    pub claims: Vec<ClaimPayment>,
    /// PLB: the fiscal period end (PLB02) is the payment date's year end.
    pub provider_adjustments: Vec<ProviderAdjustment>,
}

impl Remittance {
    /// Σ CLP04 − Σ PLB: what BPR02 must be.
    pub fn computed_amount(&self) -> Decimal {
        self.claims.iter().map(|c| c.paid).sum::<Decimal>()
            - self
                .provider_adjustments
                .iter()
                .map(|p| p.amount)
                .sum::<Decimal>()
    }
}

/// A balancing rule the advice breaks.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Imbalance {
    /// SVC02 − SVC03 ≠ Σ the line's CAS.
    Line {
        /// Claim's position.
        claim: usize,
        /// Line's position.
        line: usize,
        /// SVC02 − SVC03 − Σ CAS.
        off_by: Decimal,
    },
    /// CLP03 − CLP04 ≠ Σ claim and line CAS.
    Claim {
        /// Claim's position.
        claim: usize,
        /// CLP03 − CLP04 − Σ CAS.
        off_by: Decimal,
    },
    /// CLP05 ≠ Σ PR adjustments.
    PatientResponsibility {
        /// Claim's position.
        claim: usize,
        /// CLP05 − Σ PR.
        off_by: Decimal,
    },
    /// BPR02 ≠ Σ CLP04 − Σ PLB.
    Payment {
        /// BPR02 − (Σ CLP04 − Σ PLB).
        off_by: Decimal,
    },
    /// A payment method that cannot carry the amount: NON with money, or
    /// money negative.
    Method,
}

/// Every balancing rule the advice breaks; none for one that may be sent.
pub fn imbalances(r: &Remittance) -> Vec<Imbalance> {
    let mut out = vec![];
    let sum = |a: &[Adjustment]| a.iter().map(|a| a.amount).sum::<Decimal>();
    for (ci, c) in r.claims.iter().enumerate() {
        let mut cas = sum(&c.adjustments);
        let mut pr: Decimal = c
            .adjustments
            .iter()
            .filter(|a| a.group == "PR")
            .map(|a| a.amount)
            .sum();
        for (li, l) in c.lines.iter().enumerate() {
            let line_cas = sum(&l.adjustments);
            let off_by = l.billed - l.paid - line_cas;
            if !off_by.is_zero() {
                out.push(Imbalance::Line {
                    claim: ci,
                    line: li,
                    off_by,
                });
            }
            cas += line_cas;
            pr += l
                .adjustments
                .iter()
                .filter(|a| a.group == "PR")
                .map(|a| a.amount)
                .sum::<Decimal>();
        }
        let off_by = c.billed - c.paid - cas;
        if !off_by.is_zero() {
            out.push(Imbalance::Claim { claim: ci, off_by });
        }
        let off_by = c.patient_responsibility - pr;
        if !off_by.is_zero() {
            out.push(Imbalance::PatientResponsibility { claim: ci, off_by });
        }
    }
    let off_by = r.amount - r.computed_amount();
    if !off_by.is_zero() {
        out.push(Imbalance::Payment { off_by });
    }
    let method_ok = match r.method {
        PaymentMethod::NonPayment => r.amount.is_zero(),
        _ => r.amount > Decimal::ZERO,
    };
    if !method_ok {
        out.push(Imbalance::Method);
    }
    out
}

/// The interchange around the advice.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Envelope {
    /// ISA06/GS02: us.
    pub sender: String,
    /// ISA08/GS03: the payee's clearinghouse or the payee.
    pub receiver: String,
    /// ISA13 (and GS06).
    pub control: u32,
    /// ISA09/GS04.
    pub date: NaiveDate,
    /// ISA10/GS05, HHMM.
    pub time: String,
    /// ISA15: P production, T test.
    pub usage: char,
}

/// An X12 R (decimal) value: no trailing zeros, no plus sign.
fn amount(d: Decimal) -> String {
    let n = d.normalize();
    if n.is_zero() {
        "0".into()
    } else {
        n.to_string()
    }
}

fn ymd(d: NaiveDate) -> String {
    d.format("%Y%m%d").to_string()
}

/// One CAS per group, up to six reasons each (CAS02..CAS19).
fn cas(o: &mut Out, adjustments: &[Adjustment]) {
    let mut groups: Vec<&str> = vec![];
    for a in adjustments {
        if !groups.contains(&a.group.as_str()) {
            groups.push(&a.group);
        }
    }
    for g in groups {
        let of_group: Vec<&Adjustment> = adjustments.iter().filter(|a| a.group == g).collect();
        for chunk in of_group.chunks(6) {
            let mut parts: Vec<String> = vec!["CAS".into(), g.into()];
            for a in chunk {
                parts.push(a.carc.clone());
                parts.push(amount(a.amount));
                parts.push(String::new());
            }
            let refs: Vec<&str> = parts.iter().map(String::as_str).collect();
            o.seg(&refs);
        }
    }
}

/// Writes `r` as one interchange, one group, one transaction set. Refuses
/// (InvalidInput) an advice that does not balance: it must never leave.
pub fn write<W: Write>(out: &mut W, envelope: &Envelope, r: &Remittance) -> io::Result<()> {
    let broken = imbalances(r);
    if !broken.is_empty() {
        return Err(io::Error::new(
            io::ErrorKind::InvalidInput,
            format!("the 835 does not balance: {broken:?}"),
        ));
    }
    let mut o = Out::new();
    o.text.reserve(512 + r.claims.len() * 400);
    let date = ymd(envelope.date);
    let control = envelope.control;
    let _ = writeln!(
        o.text,
        "ISA*00*          *00*          *ZZ*{:<15.15}*ZZ*{:<15.15}*{}*{}*^*00501*{control:09}*0*{}*:~",
        clean(&envelope.sender),
        clean(&envelope.receiver),
        envelope.date.format("%y%m%d"),
        envelope.time,
        envelope.usage
    );
    let _ = writeln!(
        o.text,
        "GS*HP*{}*{}*{date}*{}*{control}*X*{GUIDE}~",
        clean(&envelope.sender),
        clean(&envelope.receiver),
        envelope.time
    );
    o.count = 0;
    o.seg(&["ST", "835", "0001", GUIDE]);
    let total = amount(r.amount);
    let paid_on = ymd(r.payment_date);
    match &r.method {
        PaymentMethod::Ach {
            payer_bank,
            payee_bank,
        } => o.seg(&[
            "BPR",
            "C",
            &total,
            "C",
            "ACH",
            "CCP",
            "01",
            &payer_bank.routing,
            "DA",
            payer_bank.account.expose(),
            &r.payer.company_id,
            "",
            "01",
            &payee_bank.routing,
            "DA",
            payee_bank.account.expose(),
            &paid_on,
        ]),
        PaymentMethod::Check => o.seg(&[
            "BPR", "I", &total, "C", "CHK", "", "", "", "", "", "", "", "", "", "", "", &paid_on,
        ]),
        PaymentMethod::NonPayment => o.seg(&[
            "BPR", "H", &total, "C", "NON", "", "", "", "", "", "", "", "", "", "", "", &paid_on,
        ]),
    }
    o.seg(&["TRN", "1", &clean(&r.trace), &r.payer.company_id]);
    o.seg(&["DTM", "405", &ymd(r.production_date)]);
    o.seg(&["N1", "PR", &clean(&r.payer.name)]);
    o.seg(&["N3", &clean(&r.payer.address)]);
    o.seg(&[
        "N4",
        &clean(&r.payer.city),
        &clean(&r.payer.state),
        &clean(&r.payer.zip),
    ]);
    o.seg(&["PER", "BL", "EDI SUPPORT", "TE", &clean(&r.payer.phone)]);
    o.seg(&["N1", "PE", &clean(&r.payee.name), "XX", &r.payee.npi]);
    o.seg(&["REF", "TJ", &clean(r.payee.tax_id.expose())]);
    if !r.claims.is_empty() {
        o.seg(&["LX", "1"]);
    }
    for c in &r.claims {
        o.seg(&[
            "CLP",
            &clean(&c.patient_account),
            c.status.code(),
            &amount(c.billed),
            &amount(c.paid),
            &if c.patient_responsibility.is_zero() {
                String::new()
            } else {
                amount(c.patient_responsibility)
            },
            &c.filing_indicator,
            &clean(&c.payer_claim_number),
            c.facility.as_deref().unwrap_or(""),
            c.frequency.as_deref().unwrap_or(""),
        ]);
        cas(&mut o, &c.adjustments);
        o.patient(&c.patient_last, &c.patient_first, &c.member_id);
        if let Some(d) = c.service_from {
            o.seg(&["DTM", "232", &ymd(d)]);
        }
        if let Some(d) = c.service_to {
            o.seg(&["DTM", "233", &ymd(d)]);
        }
        if let Some(d) = c.received {
            o.seg(&["DTM", "050", &ymd(d)]);
        }
        for l in &c.lines {
            let mut composite = if l.procedure.is_empty() {
                format!("NU:{}", l.revenue_code.as_deref().unwrap_or(""))
            } else {
                format!("HC:{}", clean(&l.procedure))
            };
            for m in &l.modifiers {
                composite.push(':');
                composite.push_str(&clean(m));
            }
            let revenue = if l.procedure.is_empty() {
                ""
            } else {
                l.revenue_code.as_deref().unwrap_or("")
            };
            o.seg(&[
                "SVC",
                &composite,
                &amount(l.billed),
                &amount(l.paid),
                revenue,
                &amount(l.units),
            ]);
            if let Some(d) = l.date {
                o.seg(&["DTM", "472", &ymd(d)]);
            }
            cas(&mut o, &l.adjustments);
            if let Some(n) = &l.control {
                o.seg(&["REF", "6R", &clean(n)]);
            }
            if let Some(a) = l.allowed {
                o.seg(&["AMT", "B6", &amount(a)]);
            }
            for rarc in &l.remarks {
                o.seg(&["LQ", "HE", &clean(rarc)]);
            }
        }
    }
    let fiscal = format!("{}1231", r.payment_date.format("%Y"));
    for chunk in r.provider_adjustments.chunks(6) {
        let mut parts: Vec<String> = vec!["PLB".into(), r.payee.npi.clone(), fiscal.clone()];
        for p in chunk {
            parts.push(format!("{}:{}", clean(&p.reason), clean(&p.reference)));
            parts.push(amount(p.amount));
        }
        let refs: Vec<&str> = parts.iter().map(String::as_str).collect();
        o.seg(&refs);
    }
    let count = o.count + 1;
    o.seg(&["SE", &count.to_string(), "0001"]);
    let _ = write!(o.text, "GE*1*{control}~\nIEA*1*{control:09}~\n");
    out.write_all(o.text.as_bytes())
}

/// Why an 835 could not be read back.
#[derive(Debug, thiserror::Error)]
pub enum RemitReadError {
    /// The segments themselves.
    #[error(transparent)]
    Read(#[from] ReadError),
    /// A segment where the 835 has no place for it, or a value that is not
    /// what the element holds.
    #[error("segment {position} ({id}): {what}")]
    Invalid {
        /// Position in the file, from 1.
        position: u32,
        /// Segment id.
        id: String,
        /// What is wrong.
        what: String,
    },
}

fn bad(position: u32, s: &Segment<'_>, what: impl Into<String>) -> RemitReadError {
    RemitReadError::Invalid {
        position,
        id: s.id_str().to_string(),
        what: what.into(),
    }
}

fn dec(position: u32, s: &Segment<'_>, n: usize) -> Result<Decimal, RemitReadError> {
    let t = s.text(n);
    if t.is_empty() {
        return Ok(Decimal::ZERO);
    }
    t.parse()
        .map_err(|_| bad(position, s, format!("element {n} is not an amount")))
}

fn date(position: u32, s: &Segment<'_>, n: usize) -> Result<NaiveDate, RemitReadError> {
    super::rules::date8(s.text(n))
        .ok_or_else(|| bad(position, s, format!("element {n} is not a date")))
}

fn adjustments(position: u32, s: &Segment<'_>) -> Result<Vec<Adjustment>, RemitReadError> {
    let group = s.text(1).to_string();
    let mut out = vec![];
    let mut n = 2;
    while n <= s.len() && !s.text(n).is_empty() {
        out.push(Adjustment {
            group: group.clone(),
            carc: s.text(n).to_string(),
            amount: dec(position, s, n + 1)?,
        });
        n += 3;
    }
    Ok(out)
}

/// Reads the 835s in `input` (every ST..SE of every interchange), with the
/// same segment reader intake uses.
pub fn read<R: Read>(input: R) -> Result<Vec<Remittance>, RemitReadError> {
    let mut reader = SegmentReader::new(input);
    let mut out: Vec<Remittance> = vec![];
    let mut position = 0u32;
    let mut current: Option<Remittance> = None;
    // Which party's N3/N4/PER follow: 1 the payer, 2 the payee.
    let mut party = 0u8;
    while let Some(s) = reader.next_segment()? {
        position += 1;
        let id = s.id_str();
        match id {
            "ISA" | "GS" | "GE" | "IEA" => continue,
            "ST" if current.is_none() => {
                if s.text(1) != "835" {
                    return Err(bad(position, &s, "not an 835"));
                }
                current = Some(empty());
                party = 0;
                continue;
            }
            "SE" if current.is_some() => {
                out.extend(current.take());
                continue;
            }
            _ => {}
        }
        let Some(r) = current.as_mut() else {
            return Err(bad(position, &s, "outside a transaction set"));
        };
        match id {
            "BPR" => {
                r.amount = dec(position, &s, 2)?;
                r.method = match s.text(4) {
                    "ACH" => PaymentMethod::Ach {
                        payer_bank: BankAccount {
                            routing: s.text(7).into(),
                            account: Secret::new(s.text(9).into()),
                        },
                        payee_bank: BankAccount {
                            routing: s.text(13).into(),
                            account: Secret::new(s.text(15).into()),
                        },
                    },
                    "CHK" => PaymentMethod::Check,
                    "NON" => PaymentMethod::NonPayment,
                    other => return Err(bad(position, &s, format!("payment method {other}"))),
                };
                r.payment_date = date(position, &s, 16)?;
            }
            "TRN" => {
                r.trace = s.text(2).into();
                r.payer.company_id = s.text(3).into();
            }
            "DTM" => {
                let d = date(position, &s, 2)?;
                match s.text(1) {
                    "405" => r.production_date = d,
                    q => {
                        let claim = r
                            .claims
                            .last_mut()
                            .ok_or_else(|| bad(position, &s, "a claim date before any CLP"))?;
                        match q {
                            "232" => claim.service_from = Some(d),
                            "233" => claim.service_to = Some(d),
                            "050" => claim.received = Some(d),
                            "472" => {
                                claim
                                    .lines
                                    .last_mut()
                                    .ok_or_else(|| bad(position, &s, "DTM*472 before any SVC"))?
                                    .date = Some(d)
                            }
                            _ => {}
                        }
                    }
                }
            }
            "N1" => {
                party = match s.text(1) {
                    "PR" => {
                        r.payer.name = s.text(2).into();
                        1
                    }
                    "PE" => {
                        r.payee.name = s.text(2).into();
                        r.payee.npi = s.text(4).into();
                        2
                    }
                    _ => 0,
                }
            }
            "N3" if party == 1 => r.payer.address = s.text(1).into(),
            "N4" if party == 1 => {
                r.payer.city = s.text(1).into();
                r.payer.state = s.text(2).into();
                r.payer.zip = s.text(3).into();
            }
            "PER" if party == 1 => r.payer.phone = s.text(4).into(),
            "REF" => match s.text(1) {
                "TJ" => r.payee.tax_id = Secret::new(s.text(2).into()),
                "6R" => {
                    if let Some(l) = r.claims.last_mut().and_then(|c| c.lines.last_mut()) {
                        l.control = Some(s.text(2).into());
                    }
                }
                _ => {}
            },
            "LX" => {}
            "CLP" => r.claims.push(ClaimPayment {
                patient_account: s.text(1).into(),
                status: ClaimStatus::parse(s.text(2))
                    .ok_or_else(|| bad(position, &s, "CLP02 is not 1, 4 or 22"))?,
                billed: dec(position, &s, 3)?,
                paid: dec(position, &s, 4)?,
                patient_responsibility: dec(position, &s, 5)?,
                filing_indicator: s.text(6).into(),
                payer_claim_number: s.text(7).into(),
                facility: Some(s.text(8).to_string()).filter(|t| !t.is_empty()),
                frequency: Some(s.text(9).to_string()).filter(|t| !t.is_empty()),
                adjustments: vec![],
                patient_last: Secret::default(),
                patient_first: Secret::default(),
                member_id: Secret::default(),
                service_from: None,
                service_to: None,
                received: None,
                lines: vec![],
            }),
            "CAS" => {
                let found = adjustments(position, &s)?;
                let claim = r
                    .claims
                    .last_mut()
                    .ok_or_else(|| bad(position, &s, "CAS before any CLP"))?;
                match claim.lines.last_mut() {
                    Some(l) => l.adjustments.extend(found),
                    None => claim.adjustments.extend(found),
                }
            }
            "NM1" if s.text(1) == "QC" => {
                let claim = r
                    .claims
                    .last_mut()
                    .ok_or_else(|| bad(position, &s, "NM1*QC before any CLP"))?;
                claim.patient_last = Secret::new(s.text(3).into());
                claim.patient_first = Secret::new(s.text(4).into());
                claim.member_id = Secret::new(s.text(9).into());
            }
            "SVC" => {
                let claim = r
                    .claims
                    .last_mut()
                    .ok_or_else(|| bad(position, &s, "SVC before any CLP"))?;
                let mut parts = s.components(1);
                let qualifier = parts.next().unwrap_or("");
                let code = parts.next().unwrap_or("").to_string();
                let modifiers: Vec<String> = parts.map(str::to_string).collect();
                let (procedure, revenue_code) = match qualifier {
                    "NU" => (String::new(), Some(code)),
                    _ => (code, Some(s.text(4).to_string()).filter(|t| !t.is_empty())),
                };
                claim.lines.push(ServicePayment {
                    procedure,
                    modifiers,
                    revenue_code,
                    billed: dec(position, &s, 2)?,
                    paid: dec(position, &s, 3)?,
                    units: dec(position, &s, 5)?,
                    date: None,
                    adjustments: vec![],
                    control: None,
                    allowed: None,
                    remarks: vec![],
                });
            }
            "AMT" if s.text(1) == "B6" => {
                let a = dec(position, &s, 2)?;
                if let Some(l) = r.claims.last_mut().and_then(|c| c.lines.last_mut()) {
                    l.allowed = Some(a);
                }
            }
            "LQ" if s.text(1) == "HE" => {
                if let Some(l) = r.claims.last_mut().and_then(|c| c.lines.last_mut()) {
                    l.remarks.push(s.text(2).into());
                }
            }
            "PLB" => {
                let mut n = 3;
                while n <= s.len() && !s.text(n).is_empty() {
                    r.provider_adjustments.push(ProviderAdjustment {
                        reason: s.component(n, 1).into(),
                        reference: s.component(n, 2).into(),
                        amount: dec(position, &s, n + 1)?,
                    });
                    n += 2;
                }
            }
            _ => {}
        }
    }
    if current.is_some() {
        return Err(RemitReadError::Invalid {
            position,
            id: "SE".into(),
            what: "the transaction set has no SE".into(),
        });
    }
    Ok(out)
}

fn empty() -> Remittance {
    Remittance {
        payer: Payer {
            name: String::new(),
            company_id: String::new(),
            address: String::new(),
            city: String::new(),
            state: String::new(),
            zip: String::new(),
            phone: String::new(),
        },
        payee: Payee {
            name: String::new(),
            npi: String::new(),
            tax_id: Secret::default(),
        },
        method: PaymentMethod::NonPayment,
        amount: Decimal::ZERO,
        payment_date: NaiveDate::MIN,
        trace: String::new(),
        production_date: NaiveDate::MIN,
        claims: vec![],
        provider_adjustments: vec![],
    }
}
