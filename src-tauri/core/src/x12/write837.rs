//! Writes 837 files as a clearinghouse would send them: for the tests'
//! round trips, the benchmark's 100,000-claim file and the demo's inbound
//! folder. Envelope counts and control numbers are always right; the
//! caller chooses the content, faults included.

use std::fmt::Write as _;
use std::io::{self, Write};

use chrono::NaiveDate;
use rust_decimal::Decimal;

use super::model::ClaimKind;

/// A service line to write.
#[derive(Debug, Clone)]
pub struct LineSpec {
    /// CPT/HCPCS.
    pub procedure: String,
    /// Modifiers.
    pub modifiers: Vec<String>,
    /// Revenue code (institutional).
    pub revenue_code: Option<String>,
    /// Charge.
    pub charge: Decimal,
    /// Units.
    pub units: Decimal,
    /// Diagnosis pointers (professional).
    pub pointers: Vec<u8>,
    /// Date of service.
    pub date: NaiveDate,
}

/// A claim to write. Test data: not PHI of anyone real.
#[derive(Debug, Clone)]
pub struct ClaimSpec {
    /// CLM01.
    pub patient_account: String,
    /// 2010BA NM109.
    pub member_id: String,
    /// Subscriber last name.
    pub last_name: String,
    /// First name.
    pub first_name: String,
    /// Date of birth.
    pub date_of_birth: NaiveDate,
    /// F, M or U.
    pub gender: String,
    /// Billing provider NPI.
    pub billing_npi: String,
    /// Billing provider name.
    pub billing_name: String,
    /// Place of service (P) or facility type (I).
    pub facility: String,
    /// 1, 7 or 8.
    pub frequency: String,
    /// REF*F8 for 7 and 8.
    pub original: Option<String>,
    /// ICD-10 codes without dots; the first is the principal.
    pub diagnoses: Vec<String>,
    /// PWK report types (sent by mail, BM).
    pub attachments: Vec<String>,
    /// Lines.
    pub lines: Vec<LineSpec>,
    /// CLM02; `None` writes the lines' sum.
    pub total: Option<Decimal>,
}

/// The envelope's parties and numbers.
#[derive(Debug, Clone)]
pub struct FileSpec {
    /// ISA06.
    pub sender: String,
    /// ISA08.
    pub receiver: String,
    /// ISA13.
    pub control: u32,
    /// Professional or institutional.
    pub kind: ClaimKind,
    /// Claims per ST..SE.
    pub claims_per_set: usize,
    /// ISA09/GS04.
    pub date: NaiveDate,
}

struct Seg<'a, W: Write> {
    w: &'a mut W,
    count: u32,
    buf: String,
}

impl<W: Write> Seg<'_, W> {
    fn put(&mut self, parts: &[&str]) -> io::Result<()> {
        self.buf.clear();
        let last = parts.iter().rposition(|e| !e.is_empty()).unwrap_or(0);
        for (i, p) in parts[..=last].iter().enumerate() {
            if i > 0 {
                self.buf.push('*');
            }
            self.buf.push_str(p);
        }
        self.buf.push_str("~\n");
        self.count += 1;
        self.w.write_all(self.buf.as_bytes())
    }
}

fn ymd(d: NaiveDate) -> String {
    d.format("%Y%m%d").to_string()
}

/// Writes `claims` as one interchange with one group.
pub fn write<W: Write>(out: &mut W, file: &FileSpec, claims: &[ClaimSpec]) -> io::Result<()> {
    let date = ymd(file.date);
    let guide = file.kind.guide();
    writeln!(
        out,
        "ISA*00*          *00*          *ZZ*{:<15}*ZZ*{:<15}*{}*1200*^*00501*{:09}*0*P*:~",
        file.sender,
        file.receiver,
        file.date.format("%y%m%d"),
        file.control
    )?;
    writeln!(
        out,
        "GS*HC*{}*{}*{date}*1200*{}*X*{guide}~",
        file.sender, file.receiver, file.control
    )?;
    let mut sets = 0u32;
    let mut text = String::new();
    for (n, chunk) in claims.chunks(file.claims_per_set.max(1)).enumerate() {
        sets += 1;
        let st = format!("{:04}", n + 1);
        let mut s = Seg {
            w: out,
            count: 0,
            buf: String::new(),
        };
        s.put(&["ST", "837", &st, guide])?;
        s.put(&[
            "BHT",
            "0019",
            "00",
            &format!("{}{st}", file.control),
            &date,
            "1200",
            "CH",
        ])?;
        s.put(&[
            "NM1",
            "41",
            "2",
            "CLEARINGHOUSE",
            "",
            "",
            "",
            "",
            "46",
            &file.sender,
        ])?;
        s.put(&["PER", "IC", "EDI DESK", "TE", "5555550100"])?;
        s.put(&[
            "NM1",
            "40",
            "2",
            "CLAIMDESK PAYER",
            "",
            "",
            "",
            "",
            "46",
            &file.receiver,
        ])?;
        let mut hl = 0u32;
        let mut provider_hl = 0u32;
        let mut provider = "";
        for c in chunk {
            if c.billing_npi != provider {
                hl += 1;
                provider_hl = hl;
                provider = &c.billing_npi;
                s.put(&["HL", &hl.to_string(), "", "20", "1"])?;
                s.put(&[
                    "NM1",
                    "85",
                    "2",
                    &c.billing_name,
                    "",
                    "",
                    "",
                    "",
                    "XX",
                    &c.billing_npi,
                ])?;
                s.put(&["N3", "100 MAIN ST"])?;
                s.put(&["N4", "SPRINGFIELD", "IL", "627010000"])?;
                s.put(&["REF", "EI", "990000001"])?;
            }
            hl += 1;
            s.put(&["HL", &hl.to_string(), &provider_hl.to_string(), "22", "0"])?;
            s.put(&["SBR", "P", "18", "", "", "", "", "", "", "CI"])?;
            s.put(&[
                "NM1",
                "IL",
                "1",
                &c.last_name,
                &c.first_name,
                "",
                "",
                "",
                "MI",
                &c.member_id,
            ])?;
            s.put(&["DMG", "D8", &ymd(c.date_of_birth), &c.gender])?;
            s.put(&[
                "NM1",
                "PR",
                "2",
                "CLAIMDESK PAYER",
                "",
                "",
                "",
                "",
                "PI",
                &file.receiver,
            ])?;
            let total = c
                .total
                .unwrap_or_else(|| c.lines.iter().map(|l| l.charge).sum());
            let qualifier = if file.kind == ClaimKind::Institutional {
                "A"
            } else {
                "B"
            };
            let clm05 = format!("{}:{qualifier}:{}", c.facility, c.frequency);
            s.put(&[
                "CLM",
                &c.patient_account,
                &total.to_string(),
                "",
                "",
                &clm05,
                "Y",
                "A",
                "Y",
                "Y",
            ])?;
            if file.kind == ClaimKind::Institutional {
                let from = c.lines.iter().map(|l| l.date).min().unwrap_or(file.date);
                let to = c.lines.iter().map(|l| l.date).max().unwrap_or(file.date);
                s.put(&["DTP", "434", "RD8", &format!("{}-{}", ymd(from), ymd(to))])?;
                s.put(&["CL1", "1", "7", "01"])?;
            }
            for a in &c.attachments {
                s.put(&[
                    "PWK",
                    a,
                    "BM",
                    "",
                    "",
                    "AC",
                    &format!("{}{a}", c.patient_account),
                ])?;
            }
            if let Some(original) = &c.original {
                s.put(&["REF", "F8", original])?;
            }
            text.clear();
            for (i, d) in c.diagnoses.iter().enumerate() {
                let q = if i == 0 { "ABK" } else { "ABF" };
                let _ = write!(text, "*{q}:{d}");
            }
            s.count += 1;
            writeln!(s.w, "HI{text}~")?;
            for (i, l) in c.lines.iter().enumerate() {
                s.put(&["LX", &(i + 1).to_string()])?;
                let mut procedure = format!("HC:{}", l.procedure);
                for m in &l.modifiers {
                    procedure.push(':');
                    procedure.push_str(m);
                }
                if file.kind == ClaimKind::Institutional {
                    let rev = l.revenue_code.as_deref().unwrap_or("0450");
                    s.put(&[
                        "SV2",
                        rev,
                        &procedure,
                        &l.charge.to_string(),
                        "UN",
                        &l.units.to_string(),
                    ])?;
                } else {
                    let pointers = l
                        .pointers
                        .iter()
                        .map(|p| p.to_string())
                        .collect::<Vec<_>>()
                        .join(":");
                    s.put(&[
                        "SV1",
                        &procedure,
                        &l.charge.to_string(),
                        "UN",
                        &l.units.to_string(),
                        &c.facility,
                        "",
                        &pointers,
                    ])?;
                }
                s.put(&["DTP", "472", "D8", &ymd(l.date)])?;
            }
        }
        let count = s.count + 1;
        writeln!(s.w, "SE*{count}*{st}~")?;
    }
    writeln!(out, "GE*{sets}*{}~", file.control)?;
    writeln!(out, "IEA*1*{:09}~", file.control)?;
    Ok(())
}
