//! The answers a payer sends back: TA1 (interchange), 999 (005010X231A1,
//! syntax of each transaction set) and 277CA (005010X214, each claim taken
//! into adjudication or rejected).

use std::fmt::Write;

use chrono::{NaiveDate, NaiveDateTime};
use rust_decimal::Decimal;

use super::model::SegmentError;
use super::parse::{Group, Interchange};
use crate::Secret;

/// Who we are in the envelopes we send.
#[derive(Debug, Clone)]
pub struct Payer {
    /// ISA06/GS02 of our answers.
    pub id: String,
    /// NM103 of the 277CA's information source.
    pub name: String,
}

/// What one transaction set's 999 says.
#[derive(Debug, Clone)]
pub struct SetAck {
    /// ST01.
    pub id: String,
    /// ST02.
    pub control: String,
    /// ST03.
    pub version: String,
    /// IK3/IK4.
    pub errors: Vec<SegmentError>,
    /// IK5 codes.
    pub set_errors: Vec<&'static str>,
}

impl SetAck {
    /// Accepted (A) or rejected (R): intake keeps nothing of a set with a fault.
    pub fn accepted(&self) -> bool {
        self.errors.is_empty() && self.set_errors.is_empty()
    }
}

/// Writes segments with the standard separators (our answers and 835s).
pub(crate) struct Out {
    pub(crate) text: String,
    pub(crate) count: u32,
}

impl Out {
    pub(crate) fn new() -> Self {
        Self {
            text: String::new(),
            count: 0,
        }
    }

    pub(crate) fn seg(&mut self, elements: &[&str]) {
        // Trailing empty elements are dropped, as X12 requires.
        let last = elements.iter().rposition(|e| !e.is_empty()).unwrap_or(0);
        self.text.push_str(&elements[..=last].join("*"));
        self.text.push_str("~\n");
        self.count += 1;
    }

    /// NM1*QC: the patient, by name and member id (2100D of the 277CA,
    /// 2100 of the 835).
    pub(crate) fn patient(
        &mut self,
        last: &Secret<String>,
        first: &Secret<String>,
        member_id: &Secret<String>,
    ) {
        self.seg(&[
            "NM1",
            "QC",
            "1",
            &clean(last.expose()),
            &clean(first.expose()),
            "",
            "",
            "",
            "MI",
            &clean(member_id.expose()),
        ]);
    }
}

fn pad(s: &str, n: usize) -> String {
    format!("{s:<n$}")
}

/// An outbound interchange around `body`, addressed back to the sender.
fn envelope(
    to: &Interchange,
    payer: &Payer,
    control: u32,
    now: NaiveDateTime,
    groups: u32,
    body: &str,
) -> String {
    let mut isa = Out::new();
    isa.seg(&[
        "ISA",
        "00",
        &pad("", 10),
        "00",
        &pad("", 10),
        "ZZ",
        &pad(&payer.id, 15),
        &pad(&to.sender_qualifier, 2),
        &pad(&to.sender_id, 15),
        &now.format("%y%m%d").to_string(),
        &now.format("%H%M").to_string(),
        "^",
        "00501",
        &format!("{control:09}"),
        "0",
        if to.usage == "T" { "T" } else { "P" },
        ":",
    ]);
    let mut text = isa.text;
    text.push_str(body);
    let _ = writeln!(text, "IEA*{groups}*{control:09}~");
    text
}

/// The TA1 for an interchange: A with no faults, E when only its trailer
/// was wrong, R when its header was.
pub fn ta1(i: &Interchange, trailer_errors: &[&'static str]) -> String {
    let (code, note) = match (i.header_errors.first(), trailer_errors.first()) {
        (Some(h), _) => ("R", *h),
        (None, Some(t)) => ("E", *t),
        (None, None) => ("A", "000"),
    };
    format!("TA1*{}*{}*{}*{code}*{note}~\n", i.control, i.date, i.time)
}

/// A TA1 alone in its interchange (the answer to an interchange rejected whole).
pub fn ta1_interchange(
    i: &Interchange,
    trailer_errors: &[&'static str],
    payer: &Payer,
    control: u32,
    now: NaiveDateTime,
) -> String {
    envelope(i, payer, control, now, 0, &ta1(i, trailer_errors))
}

/// One set's AK2..IK5 loop of the 999.
pub fn set_999(s: &SetAck) -> String {
    let mut out = Out::new();
    out.seg(&["AK2", &s.id, &s.control, &s.version]);
    for e in &s.errors {
        let position = e.position.to_string();
        out.seg(&["IK3", &e.id, &position, e.loop_id.unwrap_or(""), e.code]);
        if let Some(clm) = &e.claim {
            out.seg(&["CTX", &format!("CLM01:{}", clean(clm))]);
        }
        for el in &e.elements {
            let at = match el.component {
                Some(c) => format!("{}:{c}", el.position),
                None => el.position.to_string(),
            };
            let reference = el.reference.map(|r| r.to_string()).unwrap_or_default();
            let copy = el.copy.as_deref().map(clean).unwrap_or_default();
            out.seg(&["IK4", &at, &reference, el.code, &copy]);
        }
    }
    let verdict = if s.accepted() { "A" } else { "R" };
    let mut ik5 = vec!["IK5", verdict];
    let mut codes: Vec<&str> = s.set_errors.clone();
    if !s.errors.is_empty() {
        codes.push("5");
    }
    codes.truncate(5);
    ik5.extend(codes);
    out.seg(&ik5);
    out.text
}

/// A functional group's part of the 999: its sets' loops, already written
/// (they are kept as each set is read, so a resumed intake answers the same).
#[derive(Debug, Clone)]
pub struct GroupLoops {
    /// The GS read.
    pub group: Group,
    /// Each set's [`set_999`] and whether it was accepted.
    pub sets: Vec<(String, bool)>,
    /// GE01 as declared, when a GE came.
    pub declared: Option<u32>,
    /// AK9 codes (X12 716).
    pub errors: Vec<&'static str>,
}

/// The 999 for the groups of one interchange, with a TA1 first when the
/// sender asked for one or the interchange's trailer had a fault.
pub fn ack999(
    i: &Interchange,
    groups: &[GroupLoops],
    trailer_errors: &[&'static str],
    payer: &Payer,
    control: u32,
    now: NaiveDateTime,
) -> String {
    let mut body = String::new();
    if i.ack_requested || !trailer_errors.is_empty() {
        body.push_str(&ta1(i, trailer_errors));
    }
    for (n, g) in groups.iter().enumerate() {
        let gcontrol = n as u32 + 1;
        let mut text = String::new();
        let mut count = 0u32;
        let mut line = |t: &str, text: &mut String| {
            text.push_str(t);
            count += t.matches('~').count() as u32;
        };
        line(&format!("ST*999*{gcontrol:04}*005010X231A1~\n"), &mut text);
        line(
            &format!(
                "AK1*{}*{}*{}~\n",
                g.group.functional_id, g.group.control, g.group.version
            ),
            &mut text,
        );
        for (loop_text, _) in &g.sets {
            line(loop_text, &mut text);
        }
        let accepted = g.sets.iter().filter(|s| s.1).count();
        let received = g.sets.len();
        let verdict = match (accepted, received, g.errors.is_empty()) {
            (0, _, _) => "R",
            (a, r, true) if a == r => "A",
            (a, r, false) if a == r => "E",
            _ => "P",
        };
        let included = g.declared.unwrap_or(received as u32);
        let mut ak9 = format!("AK9*{verdict}*{included}*{received}*{accepted}");
        for e in g.errors.iter().take(5) {
            ak9.push('*');
            ak9.push_str(e);
        }
        ak9.push_str("~\n");
        line(&ak9, &mut text);
        let _ = writeln!(text, "SE*{}*{gcontrol:04}~", count + 1);
        let _ = writeln!(
            body,
            "GS*FA*{}*{}*{}*{}*{gcontrol}*X*005010X231A1~",
            payer.id,
            g.group.sender,
            now.format("%Y%m%d"),
            now.format("%H%M")
        );
        body.push_str(&text);
        let _ = writeln!(body, "GE*1*{gcontrol}~");
    }
    envelope(i, payer, control, now, groups.len() as u32, &body)
}

/// A value copied into our answer (or 835) with our separators taken out,
/// so it cannot end an element or segment early.
pub(crate) fn clean(s: &str) -> String {
    s.chars()
        .filter(|c| !matches!(c, '*' | '~' | ':' | '^'))
        .collect()
}

/// A claim's place in the 277CA.
#[derive(Debug, Clone)]
pub struct ClaimAck {
    /// CLM01.
    pub patient_account: String,
    /// CLM02.
    pub charge: Decimal,
    /// Billing provider NPI and name.
    pub billing_npi: String,
    /// Billing provider name.
    pub billing_name: String,
    /// The patient: last, first, member id (the TR3 requires them in 2100D).
    pub patient_last: Secret<String>,
    /// First name.
    pub patient_first: Secret<String>,
    /// Member id.
    pub member_id: Secret<String>,
    /// Service dates.
    pub service: Option<(NaiveDate, NaiveDate)>,
    /// Accepted with our claim number, or rejected with its STC.
    pub outcome: ClaimOutcome,
}

/// Accepted into adjudication, or rejected before it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ClaimOutcome {
    /// A2:20, with the payer's claim number (REF*1K).
    Accepted {
        /// Our claim number.
        claim_number: String,
    },
    /// An A3/A6/A7/A8 category with a claim status code and entity.
    Rejected(Rejection),
}

/// Why a claim was not taken, as a 277CA STC01 and in words.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Rejection {
    /// Claim status category (A3 returned as unprocessable, A7 invalid).
    pub category: &'static str,
    /// Claim status code (X12 507).
    pub code: &'static str,
    /// Entity the status is about (IL subscriber, 85 billing provider), if any.
    pub entity: Option<&'static str>,
    /// A stable name for the app and the tests.
    pub reason: &'static str,
    /// Plain words (no PHI).
    pub words: String,
}

/// One 837 set's claims, as the 277CA answers them.
#[derive(Debug, Clone)]
pub struct SetClaims {
    /// The 837's BHT03 (TRN02 of the receiver level).
    pub reference: String,
    /// Submitter name and id (1000A).
    pub submitter: (String, String),
    /// Claims in file order.
    pub claims: Vec<ClaimAck>,
}

/// One 837 set's 277CA transaction set (ST..SE), the `n`th (0-based) of
/// its interchange's answer.
pub fn set_277(
    set: &SetClaims,
    n: usize,
    payer: &Payer,
    trace: &str,
    received: NaiveDate,
    now: NaiveDateTime,
) -> String {
    let today = now.format("%Y%m%d").to_string();
    let mut out = Out::new();
    let st = format!("{:04}", n + 1);
    out.seg(&["ST", "277", &st, "005010X214"]);
    out.seg(&[
        "BHT",
        "0085",
        "08",
        trace,
        &today,
        &now.format("%H%M").to_string(),
        "TH",
    ]);
    let mut hl = 1u32;
    out.seg(&["HL", "1", "", "20", "1"]);
    out.seg(&[
        "NM1",
        "PR",
        "2",
        &clean(&payer.name),
        "",
        "",
        "",
        "",
        "PI",
        &payer.id,
    ]);
    out.seg(&["TRN", "1", trace]);
    out.seg(&["DTP", "050", "D8", &received.format("%Y%m%d").to_string()]);
    out.seg(&["DTP", "009", "D8", &today]);
    hl += 1;
    let receiver_hl = hl;
    out.seg(&["HL", &hl.to_string(), "1", "21", "1"]);
    out.seg(&[
        "NM1",
        "41",
        "2",
        &clean(&set.submitter.0),
        "",
        "",
        "",
        "",
        "46",
        &clean(&set.submitter.1),
    ]);
    out.seg(&["TRN", "2", &clean(&set.reference)]);
    let (acc, rej): (Vec<&ClaimAck>, Vec<&ClaimAck>) = set
        .claims
        .iter()
        .partition(|c| matches!(c.outcome, ClaimOutcome::Accepted { .. }));
    let sum = |v: &[&ClaimAck]| v.iter().map(|c| c.charge).sum::<Decimal>();
    out.seg(&[
        "STC",
        "A1:19:PR",
        &today,
        "WQ",
        &sum(&set.claims.iter().collect::<Vec<_>>()).to_string(),
    ]);
    out.seg(&["QTY", "90", &acc.len().to_string()]);
    out.seg(&["QTY", "AA", &rej.len().to_string()]);
    out.seg(&["AMT", "YU", &sum(&acc).to_string()]);
    out.seg(&["AMT", "YY", &sum(&rej).to_string()]);
    // One provider level per billing provider, in order of first claim.
    let mut providers: Vec<&str> = vec![];
    for c in &set.claims {
        if !providers.contains(&c.billing_npi.as_str()) {
            providers.push(&c.billing_npi);
        }
    }
    for npi in providers {
        let mine: Vec<&ClaimAck> = set.claims.iter().filter(|c| c.billing_npi == npi).collect();
        hl += 1;
        let provider_hl = hl;
        out.seg(&["HL", &hl.to_string(), &receiver_hl.to_string(), "19", "1"]);
        out.seg(&[
            "NM1",
            "85",
            "2",
            &clean(&mine[0].billing_name),
            "",
            "",
            "",
            "",
            "XX",
            &clean(npi),
        ]);
        out.seg(&["TRN", "1", "0"]);
        let (pa, pr): (Vec<&ClaimAck>, Vec<&ClaimAck>) = mine
            .iter()
            .partition(|c| matches!(c.outcome, ClaimOutcome::Accepted { .. }));
        out.seg(&["QTY", "QA", &pa.len().to_string()]);
        out.seg(&["QTY", "QC", &pr.len().to_string()]);
        out.seg(&["AMT", "YU", &sum(&pa).to_string()]);
        out.seg(&["AMT", "YY", &sum(&pr).to_string()]);
        for c in mine {
            hl += 1;
            out.seg(&["HL", &hl.to_string(), &provider_hl.to_string(), "PT"]);
            out.patient(&c.patient_last, &c.patient_first, &c.member_id);
            out.seg(&["TRN", "2", &clean(&c.patient_account)]);
            let charge = c.charge.to_string();
            match &c.outcome {
                ClaimOutcome::Accepted { claim_number } => {
                    out.seg(&["STC", "A2:20:PR", &today, "WQ", &charge]);
                    out.seg(&["REF", "1K", claim_number]);
                }
                ClaimOutcome::Rejected(r) => {
                    let stc = match r.entity {
                        Some(e) => format!("{}:{}:{e}", r.category, r.code),
                        None => format!("{}:{}", r.category, r.code),
                    };
                    out.seg(&["STC", &stc, &today, "U", &charge]);
                }
            }
            if let Some((from, to)) = c.service {
                if from == to {
                    out.seg(&["DTP", "472", "D8", &from.format("%Y%m%d").to_string()]);
                } else {
                    let range = format!("{}-{}", from.format("%Y%m%d"), to.format("%Y%m%d"));
                    out.seg(&["DTP", "472", "RD8", &range]);
                }
            }
        }
    }
    let count = (out.count + 1).to_string();
    out.seg(&["SE", &count, &st]);
    out.text
}

/// The 277CA interchange around sets written by [`set_277`].
pub fn ack277ca(
    i: &Interchange,
    sets: &[String],
    payer: &Payer,
    control: u32,
    now: NaiveDateTime,
) -> String {
    let mut body = String::new();
    let _ = writeln!(
        body,
        "GS*HN*{}*{}*{}*{}*1*X*005010X214~",
        payer.id,
        i.sender_id,
        now.format("%Y%m%d"),
        now.format("%H%M")
    );
    for s in sets {
        body.push_str(s);
    }
    let _ = writeln!(body, "GE*{}*1~", sets.len());
    envelope(i, payer, control, now, 1, &body)
}
