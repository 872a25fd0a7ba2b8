//! One pass over an X12 file: envelopes (ISA/GS/ST and their trailers),
//! the 837's HL hierarchy and loops, and every syntax fault the 999 or TA1
//! must report. Each transaction set is handed to the caller as soon as its
//! SE is read, so memory holds one set, never the file.

use std::collections::HashMap;
use std::io::Read;

use rust_decimal::Decimal;

use super::model::{
    Attachment, Claim837, ClaimKind, Diagnosis, ElementError, PersonRef, ProviderRef, SegmentError,
    ServiceLine,
};
use super::reader::{ReadError, Segment, SegmentReader, Separators};
use super::rules::{self, date8};
use crate::Secret;

/// A set with more claims than this is refused (the TR3 recommends at most
/// 5,000 per set); it bounds the memory one set may take.
pub const MAX_CLAIMS_PER_SET: usize = 50_000;

/// The interchange header, as read.
#[derive(Debug, Clone)]
pub struct Interchange {
    /// ISA05.
    pub sender_qualifier: String,
    /// ISA06, trimmed.
    pub sender_id: String,
    /// ISA07.
    pub receiver_qualifier: String,
    /// ISA08, trimmed.
    pub receiver_id: String,
    /// ISA09 YYMMDD.
    pub date: String,
    /// ISA10 HHMM.
    pub time: String,
    /// ISA13.
    pub control: String,
    /// ISA14: a TA1 was asked for.
    pub ack_requested: bool,
    /// ISA15: P production, T test.
    pub usage: String,
    /// The separators it declared.
    pub separators: Separators,
    /// TA1 note codes (X12 I18) for faults in the ISA itself; any means the
    /// interchange is rejected whole.
    pub header_errors: Vec<&'static str>,
}

/// A functional group header.
#[derive(Debug, Clone)]
pub struct Group {
    /// GS01 (HC for claims).
    pub functional_id: String,
    /// GS02.
    pub sender: String,
    /// GS03.
    pub receiver: String,
    /// GS06.
    pub control: String,
    /// GS08.
    pub version: String,
}

/// A transaction set, read to its end.
#[derive(Debug)]
pub struct TransactionSet {
    /// ST01.
    pub id: String,
    /// ST02.
    pub control: String,
    /// ST03 (or GS08 when absent).
    pub version: String,
    /// Professional or institutional, when the version says.
    pub kind: Option<ClaimKind>,
    /// 1-based position in its group.
    pub ordinal: u32,
    /// Segments from ST to SE inclusive.
    pub segments: u32,
    /// BHT03, the submitter's batch reference (the 277CA's TRN02).
    pub reference: String,
    /// BHT04.
    pub created: String,
    /// 1000A: submitter name and id.
    pub submitter: (String, String),
    /// 1000B: receiver name and id.
    pub receiver: (String, String),
    /// IK3/IK4 faults.
    pub errors: Vec<SegmentError>,
    /// IK5 codes (X12 618) for the set as a whole.
    pub set_errors: Vec<&'static str>,
    /// The claims, when the set has no faults.
    pub claims: Vec<Claim837>,
}

impl TransactionSet {
    /// The set has no syntax fault: its claims go on to the business checks.
    pub fn accepted(&self) -> bool {
        self.errors.is_empty() && self.set_errors.is_empty()
    }
}

/// What the reader met, in file order.
#[derive(Debug)]
pub enum Event {
    /// An ISA.
    Interchange(Interchange),
    /// A GS.
    Group(Group),
    /// An ST..SE, complete (or cut short, with the fault recorded).
    Set(TransactionSet),
    /// A GE, or the group's end without one. AK9 codes (X12 716).
    GroupEnd {
        /// GE01 as declared.
        declared: Option<u32>,
        /// Faults of the trailer.
        errors: Vec<&'static str>,
    },
    /// An IEA, or the interchange's end without one. TA1 codes (X12 I18).
    InterchangeEnd {
        /// Faults of the trailer.
        errors: Vec<&'static str>,
    },
}

/// Why a file could not be read to its end (what was read before stands).
pub type FileError = ReadError;

/// Reads `input`, calling `sink` with each event. The sink's error stops
/// the read and is returned.
pub fn read<R: Read, E: From<FileError>>(
    input: R,
    mut sink: impl FnMut(Event) -> Result<(), E>,
    mut progress: impl FnMut(u64),
) -> Result<(), E> {
    let mut reader = SegmentReader::new(input);
    let mut env = Envelope::default();
    let mut last_progress = 0u64;
    loop {
        let seg = match reader.next_segment() {
            Ok(Some(seg)) => seg,
            Ok(None) => break,
            Err(e) => {
                // What was open is closed as cut short, then the fault is said.
                env.finish(&mut sink, true)?;
                return Err(E::from(e));
            }
        };
        env.segment(&seg, &mut sink)?;
        let at = seg.offset;
        if at - last_progress > 1 << 20 {
            last_progress = at;
            progress(at);
        }
    }
    env.finish(&mut sink, true)?;
    progress(reader.consumed());
    Ok(())
}

#[derive(Default)]
struct Envelope {
    interchange: Option<OpenInterchange>,
    group: Option<OpenGroup>,
    set: Option<SetParser>,
}

struct OpenInterchange {
    control: String,
    groups: u32,
    rejected: bool,
}

struct OpenGroup {
    control: String,
    version: String,
    functional_id: String,
    sets: u32,
    controls: HashMap<String, u32>,
}

impl Envelope {
    fn segment<E>(
        &mut self,
        seg: &Segment<'_>,
        sink: &mut impl FnMut(Event) -> Result<(), E>,
    ) -> Result<(), E> {
        match seg.id() {
            b"ISA" => {
                self.finish(sink, false)?;
                let i = interchange(seg);
                self.interchange = Some(OpenInterchange {
                    control: i.control.clone(),
                    groups: 0,
                    rejected: !i.header_errors.is_empty(),
                });
                sink(Event::Interchange(i))
            }
            _ if self.interchange.as_ref().is_some_and(|i| i.rejected) => {
                if seg.id() == b"IEA" {
                    self.interchange = None;
                    sink(Event::InterchangeEnd { errors: vec![] })?;
                }
                Ok(())
            }
            b"IEA" => {
                self.close_group(sink, "3")?;
                let Some(i) = self.interchange.take() else {
                    return Ok(());
                };
                let mut errors = vec![];
                if seg.text(2) != i.control {
                    errors.push("001");
                }
                if seg.text(1).parse::<u32>().ok() != Some(i.groups) {
                    errors.push("021");
                }
                sink(Event::InterchangeEnd { errors })
            }
            b"GS" => {
                self.close_group(sink, "3")?;
                if let Some(i) = self.interchange.as_mut() {
                    i.groups += 1;
                }
                let g = Group {
                    functional_id: seg.text(1).to_string(),
                    sender: seg.text(2).to_string(),
                    receiver: seg.text(3).to_string(),
                    control: seg.text(6).to_string(),
                    version: seg.text(8).to_string(),
                };
                self.group = Some(OpenGroup {
                    control: g.control.clone(),
                    version: g.version.clone(),
                    functional_id: g.functional_id.clone(),
                    sets: 0,
                    controls: HashMap::new(),
                });
                sink(Event::Group(g))
            }
            b"GE" => {
                self.close_set(sink, Some("2"))?;
                let Some(g) = self.group.take() else {
                    return Ok(());
                };
                let mut errors = vec![];
                let declared = seg.text(1).parse::<u32>().ok();
                if declared != Some(g.sets) {
                    errors.push("5");
                }
                if seg.text(2) != g.control {
                    errors.push("4");
                }
                if g.functional_id != "HC" {
                    errors.push("1");
                }
                sink(Event::GroupEnd { declared, errors })
            }
            b"ST" => {
                self.close_set(sink, Some("2"))?;
                let Some(g) = self.group.as_mut() else {
                    // An ST outside any group cannot be acknowledged by a 999.
                    return Ok(());
                };
                g.sets += 1;
                let control = seg.text(2).to_string();
                let seen = g.controls.entry(control.clone()).or_insert(0);
                *seen += 1;
                let duplicate = *seen > 1;
                let mut p = SetParser::new(seg, &g.version, g.sets);
                if duplicate {
                    p.set.set_errors.push("23");
                }
                if g.functional_id != "HC" || p.set.id != "837" {
                    p.set.set_errors.push("1");
                }
                self.set = Some(p);
                Ok(())
            }
            b"SE" => {
                let Some(mut p) = self.set.take() else {
                    return Ok(());
                };
                p.count += 1;
                p.finish_claim();
                if seg.text(1).parse::<u32>().ok() != Some(p.count) {
                    p.set.set_errors.push("4");
                }
                if seg.text(2) != p.set.control {
                    p.set.set_errors.push("3");
                }
                sink(Event::Set(p.done()))
            }
            _ => {
                if let Some(p) = self.set.as_mut() {
                    p.segment(seg);
                }
                Ok(())
            }
        }
    }

    fn close_set<E>(
        &mut self,
        sink: &mut impl FnMut(Event) -> Result<(), E>,
        code: Option<&'static str>,
    ) -> Result<(), E> {
        if let Some(mut p) = self.set.take() {
            p.finish_claim();
            if let Some(code) = code {
                p.set.set_errors.push(code);
            }
            sink(Event::Set(p.done()))?;
        }
        Ok(())
    }

    fn close_group<E>(
        &mut self,
        sink: &mut impl FnMut(Event) -> Result<(), E>,
        code: &'static str,
    ) -> Result<(), E> {
        self.close_set(sink, Some("2"))?;
        if self.group.take().is_some() {
            sink(Event::GroupEnd {
                declared: None,
                errors: vec![code],
            })?;
        }
        Ok(())
    }

    /// The input ended (`eof`) or a new ISA began: close what is open.
    fn finish<E>(
        &mut self,
        sink: &mut impl FnMut(Event) -> Result<(), E>,
        eof: bool,
    ) -> Result<(), E> {
        self.close_group(sink, "3")?;
        if self.interchange.take().is_some() {
            sink(Event::InterchangeEnd {
                errors: vec![if eof { "023" } else { "022" }],
            })?;
        }
        Ok(())
    }
}

fn interchange(seg: &Segment<'_>) -> Interchange {
    // Fixed lengths of ISA01..ISA16 and the TA1 code for each element's fault.
    const FIELDS: [(usize, &str); 16] = [
        (2, "010"),
        (10, "011"),
        (2, "012"),
        (10, "013"),
        (2, "005"),
        (15, "006"),
        (2, "007"),
        (15, "008"),
        (6, "014"),
        (4, "015"),
        (1, "026"),
        (5, "017"),
        (9, "018"),
        (1, "019"),
        (1, "020"),
        (1, "027"),
    ];
    let mut errors = vec![];
    for (i, (len, code)) in FIELDS.iter().enumerate() {
        if seg.element(i + 1).len() != *len && !errors.contains(code) {
            errors.push(*code);
        }
    }
    if seg.len() != 16 && errors.is_empty() {
        errors.push("022");
    }
    if seg.text(12) != "00501" && !errors.contains(&"017") {
        errors.push("017");
    }
    if !seg.element(13).iter().all(u8::is_ascii_digit) && !errors.contains(&"018") {
        errors.push("018");
    }
    if !matches!(seg.text(15), "P" | "T") && !errors.contains(&"020") {
        errors.push("020");
    }
    if seg.isa_length_error.is_some() && errors.is_empty() {
        errors.push("022");
    }
    Interchange {
        sender_qualifier: seg.text(5).to_string(),
        sender_id: seg.text(6).trim().to_string(),
        receiver_qualifier: seg.text(7).to_string(),
        receiver_id: seg.text(8).trim().to_string(),
        date: seg.text(9).to_string(),
        time: seg.text(10).to_string(),
        control: seg.text(13).trim().to_string(),
        ack_requested: seg.text(14) == "1",
        usage: seg.text(15).to_string(),
        separators: seg.separators,
        header_errors: errors,
    }
}

/// Where in the 837 a segment falls.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
enum Loop {
    Header,
    L1000A,
    L1000B,
    L2000A,
    L2010AA,
    L2010AB,
    L2010AC,
    L2000B,
    L2010BA,
    L2010BB,
    L2000C,
    L2010CA,
    L2300,
    L2310,
    L2320,
    L2330,
    L2400,
    L2410,
    L2420,
    L2430,
}

impl Loop {
    fn id(self, name: &'static str) -> Option<&'static str> {
        Some(match self {
            Self::Header => return None,
            Self::L1000A => "1000A",
            Self::L1000B => "1000B",
            Self::L2000A => "2000A",
            Self::L2010AA => "2010AA",
            Self::L2010AB => "2010AB",
            Self::L2010AC => "2010AC",
            Self::L2000B => "2000B",
            Self::L2010BA => "2010BA",
            Self::L2010BB => "2010BB",
            Self::L2000C => "2000C",
            Self::L2010CA => "2010CA",
            Self::L2300 => "2300",
            Self::L2310 | Self::L2330 | Self::L2420 => name,
            Self::L2320 => "2320",
            Self::L2400 => "2400",
            Self::L2410 => "2410",
            Self::L2430 => "2430",
        })
    }

    /// Loops whose segments carry PHI (names, ids, addresses, birth dates,
    /// diagnoses): the 999 does not copy their bad values.
    fn phi(self) -> bool {
        matches!(
            self,
            Self::L2010BA
                | Self::L2010CA
                | Self::L2000B
                | Self::L2000C
                | Self::L2300
                | Self::L2330
                | Self::L2320
        )
    }
}

/// The order of segments inside a name loop (NM1 N2 N3 N4 DMG REF PER).
fn name_rank(id: &[u8]) -> Option<u8> {
    Some(match id {
        b"NM1" => 0,
        b"N3" => 2,
        b"N4" => 3,
        b"DMG" => 4,
        b"REF" => 5,
        b"PER" => 6,
        _ => return None,
    })
}

#[derive(Default, Clone)]
struct Hl {
    level: String,
    has_children: bool,
    claims: u32,
}

struct SetParser {
    set: TransactionSet,
    count: u32,
    at: Loop,
    sub_loop: &'static str,
    rank: u8,
    hls: HashMap<String, Hl>,
    last_hl: u32,
    current_hl: Option<String>,
    billing: ProviderRef,
    subscriber: PersonRef,
    patient: Option<PersonRef>,
    relationship: String,
    payer_id: String,
    claim: Option<Claim837>,
    line: Option<ServiceLine>,
    seen_bht: bool,
    claims_seen: usize,
}

impl SetParser {
    fn new(st: &Segment<'_>, group_version: &str, ordinal: u32) -> Self {
        let version = if st.text(3).is_empty() {
            group_version
        } else {
            st.text(3)
        }
        .to_string();
        let kind = match version.as_str() {
            "005010X222A1" => Some(ClaimKind::Professional),
            "005010X223A2" => Some(ClaimKind::Institutional),
            _ => None,
        };
        let mut set = TransactionSet {
            id: st.text(1).to_string(),
            control: st.text(2).to_string(),
            version: version.clone(),
            kind,
            ordinal,
            segments: 0,
            reference: String::new(),
            created: String::new(),
            submitter: Default::default(),
            receiver: Default::default(),
            errors: vec![],
            set_errors: vec![],
            claims: vec![],
        };
        if st.text(2).len() < 4 || st.text(2).len() > 9 {
            set.set_errors.push("7");
        }
        if set.id == "837" && kind.is_none() {
            set.set_errors.push("I6");
        } else if !st.text(3).is_empty() && st.text(3) != group_version {
            // ST03 names another guide than its group's GS08.
            set.set_errors.push("I6");
        }
        Self {
            set,
            count: 1,
            at: Loop::Header,
            sub_loop: "",
            rank: 0,
            hls: HashMap::new(),
            last_hl: 0,
            current_hl: None,
            billing: ProviderRef::default(),
            subscriber: PersonRef::default(),
            patient: None,
            relationship: String::new(),
            payer_id: String::new(),
            claim: None,
            line: None,
            seen_bht: false,
            claims_seen: 0,
        }
    }

    fn kind(&self) -> ClaimKind {
        self.set.kind.unwrap_or(ClaimKind::Professional)
    }

    fn fault(
        &mut self,
        seg: &Segment<'_>,
        code: &'static str,
        elements: Vec<ElementError>,
        words: String,
    ) {
        // The guides cap what a 999 reports; past that one line says it.
        if self.set.errors.len() >= 200 {
            return;
        }
        self.set.errors.push(SegmentError {
            id: seg.id_str().to_string(),
            position: self.count,
            loop_id: self.at.id(self.sub_loop),
            code,
            claim: self.claim.as_ref().map(|c| c.patient_account.clone()),
            elements,
            words,
        });
    }

    fn element_fault(
        &mut self,
        seg: &Segment<'_>,
        position: u8,
        component: Option<u8>,
        code: &'static str,
        words: String,
    ) {
        let copy = !self.at.phi();
        let e = ElementError {
            position,
            component,
            reference: None,
            code,
            copy: copy
                .then(|| seg.text(position as usize).to_string())
                .filter(|v| !v.is_empty()),
        };
        self.fault(seg, "8", vec![e], words);
    }

    fn order(&mut self, seg: &Segment<'_>) {
        if let Some(rank) = name_rank(seg.id()) {
            if rank < self.rank {
                let words = format!("{} comes after a segment it must precede", seg.id_str());
                self.fault(seg, "7", vec![], words);
            }
            self.rank = rank;
        }
    }

    fn segment(&mut self, seg: &Segment<'_>) {
        self.count += 1;
        if self.set.set_errors.contains(&"1") {
            // Not a claim set: counted for its SE, not read.
            return;
        }
        let id = seg.id();
        if !rules::well_formed_id(id) {
            self.fault(
                seg,
                "1",
                vec![],
                "a segment whose id is not an X12 segment id".into(),
            );
            return;
        }
        if !rules::in_837(id) {
            let words = format!("{} is not a segment of the 837", seg.id_str());
            self.fault(seg, "2", vec![], words);
            return;
        }
        // An NM1 opens its loop before its elements are checked, so a
        // fault is reported in the loop it belongs to.
        let target = if id == b"NM1" {
            let t = self.nm1_target(seg.text(1));
            if let (Some(l), sub) = t {
                self.at = l;
                self.sub_loop = sub;
                self.rank = 0;
            }
            t
        } else {
            (None, "")
        };
        if id == b"CLM" {
            self.at = Loop::L2300;
        }
        if let Some(els) = rules::rule(id) {
            let mut errs = vec![];
            rules::check(seg, els, !self.at.phi() && id != b"DMG", &mut errs);
            if !errs.is_empty() {
                let words = format!("{} has {} faulty element(s)", seg.id_str(), errs.len());
                // The loop a faulty NM1 opens is not known yet: report it
                // where it stands.
                self.fault(seg, "8", errs, words);
                if id == b"HL" || id == b"CLM" || id == b"LX" {
                    // Structure cannot be trusted past a broken HL/CLM/LX.
                    return;
                }
            }
        }
        match id {
            b"BHT" => {
                self.seen_bht = true;
                self.set.reference = seg.text(3).to_string();
                self.set.created = seg.text(4).to_string();
            }
            b"HL" => self.hl(seg),
            b"NM1" => self.nm1(seg, target),
            b"N3" | b"N4" | b"PER" | b"DMG" => {
                self.order(seg);
                if id == b"DMG" {
                    let dob = Secret::new(seg.text(2).to_string());
                    match self.at {
                        Loop::L2010BA => self.subscriber.date_of_birth = dob,
                        Loop::L2010CA => {
                            if let Some(p) = self.patient.as_mut() {
                                p.date_of_birth = dob;
                            }
                        }
                        _ => {}
                    }
                    if seg.text(1) == "D8"
                        && date8(seg.text(2)).is_none()
                        && !seg.text(2).is_empty()
                    {
                        self.element_fault(
                            seg,
                            2,
                            None,
                            "8",
                            "a date of birth that is not a date".into(),
                        );
                    }
                }
            }
            b"REF" => {
                self.order(seg);
                let value = seg.text(2).to_string();
                match (self.at, seg.text(1)) {
                    (Loop::L2010AA, "EI" | "SY") => self.billing.tax_id = Some(Secret::new(value)),
                    (Loop::L2300, "F8") => {
                        if let Some(c) = self.claim.as_mut() {
                            c.original_reference = Some(value);
                        }
                    }
                    (Loop::L2300, "G1") => {
                        if let Some(c) = self.claim.as_mut() {
                            c.prior_auth = Some(value);
                        }
                    }
                    _ => {}
                }
            }
            b"SBR" => {
                if matches!(self.at, Loop::L2000B) {
                    if !seg.text(2).is_empty() {
                        self.relationship = seg.text(2).to_string();
                    }
                } else if self.claim.is_some() {
                    self.finish_line();
                    self.at = Loop::L2320;
                }
            }
            b"PAT" if !seg.text(1).is_empty() => {
                self.relationship = seg.text(1).to_string();
            }
            b"CLM" => self.clm(seg),
            b"DTP" => self.dtp(seg),
            b"HI" => self.hi(seg),
            b"PWK" => {
                let a = Attachment {
                    report_type: seg.text(1).to_string(),
                    transmission: seg.text(2).to_string(),
                    control: Some(seg.text(6).to_string()).filter(|s| !s.is_empty()),
                };
                if let Some(c) = self.claim.as_mut() {
                    c.attachments.push(a);
                }
            }
            b"LX" => self.lx(seg),
            b"SV1" => self.sv1(seg),
            b"SV2" => self.sv2(seg),
            b"LIN" if self.line.is_some() => self.at = Loop::L2410,
            b"SVD" if self.line.is_some() => self.at = Loop::L2430,
            b"OI" | b"MOA" | b"MIA" if self.at == Loop::L2320 => {}
            _ => {}
        }
    }

    fn hl(&mut self, seg: &Segment<'_>) {
        self.finish_claim();
        let id = seg.text(1).to_string();
        let parent = seg.text(2).to_string();
        let level = seg.text(3).to_string();
        self.rank = 0;
        let expected = (self.last_hl + 1).to_string();
        self.at = match level.as_str() {
            "20" => Loop::L2000A,
            "22" => Loop::L2000B,
            _ => Loop::L2000C,
        };
        if id != expected {
            self.element_fault(
                seg,
                1,
                None,
                "I12",
                format!("HL01 is {id}, the next HL number is {expected}"),
            );
        }
        let parent_level = self.hls.get(&parent).map(|h| h.level.clone());
        let wanted = match level.as_str() {
            "20" => None,
            "22" => Some("20"),
            _ => Some("22"),
        };
        match (wanted, parent_level.as_deref()) {
            (None, _) if !parent.is_empty() => self.element_fault(
                seg,
                2,
                None,
                "I12",
                "a billing provider level has no parent".into(),
            ),
            (Some(w), Some(p)) if w != p => self.element_fault(
                seg,
                2,
                None,
                "I12",
                format!("HL parent {parent} is not a level {w}"),
            ),
            (Some(_), None) => self.element_fault(
                seg,
                2,
                None,
                "I12",
                format!("HL parent {parent} does not exist"),
            ),
            _ => {}
        }
        self.last_hl = self.last_hl.max(id.parse().unwrap_or(self.last_hl + 1));
        match level.as_str() {
            "20" => {
                self.billing = ProviderRef::default();
            }
            "22" => {
                self.subscriber = PersonRef::default();
                self.patient = None;
                self.relationship = "18".into();
                self.payer_id.clear();
            }
            _ => {
                self.patient = Some(PersonRef::default());
            }
        }
        self.hls.insert(
            id.clone(),
            Hl {
                level,
                has_children: seg.text(4) == "1",
                claims: 0,
            },
        );
        self.current_hl = Some(id);
    }

    /// The loop an NM1 with `entity` opens where the reader stands.
    fn nm1_target(&self, entity: &str) -> (Option<Loop>, &'static str) {
        let institutional = self.kind() == ClaimKind::Institutional;
        match (self.at, entity) {
            (Loop::Header | Loop::L1000A, "41") => (Some(Loop::L1000A), ""),
            (Loop::L1000A | Loop::L1000B, "40") => (Some(Loop::L1000B), ""),
            (Loop::L2000A | Loop::L2010AA | Loop::L2010AB | Loop::L2010AC, "85") => {
                (Some(Loop::L2010AA), "")
            }
            (Loop::L2010AA | Loop::L2010AB, "87") => (Some(Loop::L2010AB), ""),
            (Loop::L2010AA | Loop::L2010AB | Loop::L2010AC, "PE") => (Some(Loop::L2010AC), ""),
            (Loop::L2000B, "IL") => (Some(Loop::L2010BA), ""),
            (Loop::L2010BA | Loop::L2000B, "PR") => (Some(Loop::L2010BB), ""),
            (Loop::L2000C, "QC") => (Some(Loop::L2010CA), ""),
            (Loop::L2300 | Loop::L2310, e) => {
                let sub = match (institutional, e) {
                    (false, "DN" | "P3") => "2310A",
                    (false, "82") => "2310B",
                    (false, "77") => "2310C",
                    (false, "DQ") => "2310D",
                    (false, "PW") => "2310E",
                    (false, "45") => "2310F",
                    (true, "71") => "2310A",
                    (true, "72") => "2310B",
                    (true, "ZZ") => "2310C",
                    (true, "82") => "2310D",
                    (true, "77") => "2310E",
                    (true, "DN") => "2310F",
                    _ => "",
                };
                (
                    if sub.is_empty() {
                        None
                    } else {
                        Some(Loop::L2310)
                    },
                    sub,
                )
            }
            (Loop::L2320 | Loop::L2330, e) => {
                let sub = match e {
                    "IL" => "2330A",
                    "PR" => "2330B",
                    "QC" => "2330C",
                    "DN" | "P3" | "71" => "2330C",
                    "82" | "72" => "2330D",
                    "77" => "2330E",
                    "DQ" | "ZZ" => "2330F",
                    "85" => "2330G",
                    _ => "",
                };
                (
                    if sub.is_empty() {
                        None
                    } else {
                        Some(Loop::L2330)
                    },
                    sub,
                )
            }
            (Loop::L2400 | Loop::L2410 | Loop::L2420 | Loop::L2430, e) => {
                let sub = match e {
                    "82" | "72" => "2420A",
                    "QB" | "ZZ" => "2420B",
                    "77" => "2420C",
                    "DQ" | "DN" => "2420D",
                    "DK" => "2420E",
                    "P3" => "2420F",
                    "PW" => "2420G",
                    "45" => "2420H",
                    _ => "",
                };
                (
                    if sub.is_empty() {
                        None
                    } else {
                        Some(Loop::L2420)
                    },
                    sub,
                )
            }
            _ => (None, ""),
        }
    }

    fn nm1(&mut self, seg: &Segment<'_>, target: (Option<Loop>, &'static str)) {
        let entity = seg.text(1);
        let institutional = self.kind() == ClaimKind::Institutional;
        let (next, sub) = target;
        let Some(next) = next else {
            // A code that exists but is not allowed here: NM101 invalid.
            let reported = self
                .set
                .errors
                .last()
                .is_some_and(|e| e.position == self.count);
            if !reported && !entity.is_empty() {
                let e = ElementError {
                    position: 1,
                    component: None,
                    reference: Some(98),
                    code: "7",
                    copy: Some(entity.to_string()),
                };
                let words = format!(
                    "NM1 entity {entity} does not belong in loop {}",
                    self.at.id("").unwrap_or("header")
                );
                self.fault(seg, "8", vec![e], words);
            }
            return;
        };
        self.at = next;
        self.sub_loop = sub;
        self.rank = 0;
        let npi = (seg.text(8) == "XX").then(|| seg.text(9).to_string());
        match next {
            Loop::L1000A => self.set.submitter = (seg.text(3).to_string(), seg.text(9).to_string()),
            Loop::L1000B => self.set.receiver = (seg.text(3).to_string(), seg.text(9).to_string()),
            Loop::L2010AA => {
                self.billing = ProviderRef {
                    npi,
                    name: seg.text(3).to_string(),
                    tax_id: None,
                };
                if seg.text(8) != "XX" {
                    self.element_fault(
                        seg,
                        8,
                        None,
                        "7",
                        "the billing provider is identified by its NPI (XX)".into(),
                    );
                }
            }
            Loop::L2010BA => {
                self.subscriber = person(seg);
            }
            Loop::L2010BB => self.payer_id = seg.text(9).to_string(),
            Loop::L2010CA => self.patient = Some(person(seg)),
            Loop::L2310
                if matches!(sub, "2310B" | "2310D") && (sub == "2310B") != institutional =>
            {
                if let Some(c) = self.claim.as_mut() {
                    c.rendering = Some(ProviderRef {
                        npi,
                        name: seg.text(3).to_string(),
                        tax_id: None,
                    });
                }
            }
            _ => {}
        }
    }

    fn clm(&mut self, seg: &Segment<'_>) {
        self.finish_claim();
        self.rank = 0;
        let hl = self
            .current_hl
            .clone()
            .and_then(|h| self.hls.get_mut(&h).map(|x| (h, x)));
        let Some((_, hl)) = hl else {
            self.fault(
                seg,
                "2",
                vec![],
                "a claim before any subscriber or patient".into(),
            );
            return;
        };
        hl.claims += 1;
        let level = hl.level.clone();
        let over = hl.claims > 100;
        let children = hl.has_children;
        if level == "20" {
            self.fault(
                seg,
                "2",
                vec![],
                "a claim under the billing provider's level".into(),
            );
            return;
        }
        if level == "22" && children {
            // Read on, so the 999 names this fault alone, not every segment after.
            self.fault(
                seg,
                "2",
                vec![],
                "a claim under a subscriber whose HL04 says a patient level follows".into(),
            );
        }
        if over {
            self.fault(
                seg,
                "4",
                vec![],
                "more than 100 claims under one subscriber or patient".into(),
            );
            return;
        }
        self.claims_seen += 1;
        if self.claims_seen > MAX_CLAIMS_PER_SET {
            if self.claims_seen == MAX_CLAIMS_PER_SET + 1 {
                let words = format!("more than {MAX_CLAIMS_PER_SET} claims in one transaction set");
                self.fault(seg, "4", vec![], words);
            }
            return;
        }
        self.at = Loop::L2300;
        let total = seg.text(2).parse::<Decimal>().unwrap_or_default();
        let facility = seg.component(5, 1).to_string();
        let qualifier = seg.component(5, 2).to_string();
        let frequency = seg.component(5, 3).to_string();
        let kind = self.kind();
        self.claim = Some(Claim837 {
            kind,
            position: self.count,
            patient_account: seg.text(1).to_string(),
            total_charge: total,
            facility_code: facility.clone(),
            frequency: frequency.clone(),
            billing: self.billing.clone(),
            rendering: None,
            subscriber: self.subscriber.clone(),
            patient: self.patient.clone(),
            relationship: self.relationship.clone(),
            payer_id: self.payer_id.clone(),
            diagnoses: vec![],
            original_reference: None,
            prior_auth: None,
            attachments: vec![],
            statement_from: None,
            statement_to: None,
            admission: None,
            lines: vec![],
        });
        if !seg.element(5).is_empty() {
            let want = if kind == ClaimKind::Institutional {
                "A"
            } else {
                "B"
            };
            if facility.is_empty()
                || !facility.bytes().all(|b| b.is_ascii_digit())
                || facility.len() > 2
            {
                self.element_fault(
                    seg,
                    5,
                    Some(1),
                    "7",
                    "CLM05-1 is not a facility or place of service code".into(),
                );
            } else if qualifier != want {
                self.element_fault(
                    seg,
                    5,
                    Some(2),
                    "7",
                    format!("CLM05-2 must be {want} in this guide"),
                );
            } else if frequency.len() != 1 || !frequency.bytes().all(|b| b.is_ascii_digit()) {
                self.element_fault(
                    seg,
                    5,
                    Some(3),
                    "7",
                    "CLM05-3 is not a frequency code".into(),
                );
            }
        }
    }

    fn dtp(&mut self, seg: &Segment<'_>) {
        let (from, to) = match seg.text(2) {
            "D8" => {
                let d = date8(seg.text(3));
                (d, d)
            }
            "RD8" => {
                let v = seg.text(3);
                let (a, b) = v.split_once('-').unwrap_or((v, ""));
                (date8(a), date8(b))
            }
            _ => (None, None),
        };
        let bad =
            matches!(seg.text(2), "D8" | "RD8") && (from.is_none() || to.is_none() || from > to);
        if bad {
            self.element_fault(
                seg,
                3,
                None,
                "8",
                format!("DTP {} is not a valid date or range", seg.text(1)),
            );
            return;
        }
        match (self.at, seg.text(1)) {
            (Loop::L2400, "472") => {
                if let Some(l) = self.line.as_mut() {
                    l.service_from = from;
                    l.service_to = to;
                }
            }
            (Loop::L2300, "434" | "472") => {
                if let Some(c) = self.claim.as_mut() {
                    c.statement_from = from;
                    c.statement_to = to;
                }
            }
            (Loop::L2300, "435") => {
                if let Some(c) = self.claim.as_mut() {
                    c.admission = from;
                }
            }
            _ => {}
        }
    }

    fn hi(&mut self, seg: &Segment<'_>) {
        if self.at != Loop::L2300 {
            return;
        }
        let mut found = vec![];
        let mut faults = vec![];
        for n in 1..=12 {
            if seg.element(n).is_empty() {
                continue;
            }
            let qualifier = seg.component(n, 1);
            let code = seg.component(n, 2);
            let diagnosis = match qualifier {
                "ABK" | "BK" => n == 1,
                "ABF" | "BF" | "ABJ" | "BJ" | "APR" | "PR" | "ABN" | "BN" => true,
                _ => false,
            };
            if !diagnosis {
                // Procedure, condition, value and occurrence codes (837I) are
                // other HI segments; intake keeps diagnoses only.
                let other = matches!(
                    qualifier,
                    "BBR" | "BBQ" | "BR" | "BQ" | "BI" | "BH" | "BE" | "BG" | "DR" | "TC"
                );
                if !other || self.kind() == ClaimKind::Professional {
                    faults.push(ElementError {
                        position: n as u8,
                        component: Some(1),
                        reference: Some(1270),
                        code: "7",
                        copy: None,
                    });
                }
                continue;
            }
            if code.is_empty()
                || code.len() > 30
                || !code.bytes().all(|b| b.is_ascii_alphanumeric())
            {
                faults.push(ElementError {
                    position: n as u8,
                    component: Some(2),
                    reference: Some(1271),
                    code: if code.is_empty() { "1" } else { "6" },
                    copy: None,
                });
                continue;
            }
            found.push(Diagnosis {
                qualifier: qualifier.to_string(),
                code: Secret::new(code.to_string()),
            });
        }
        if !faults.is_empty() {
            self.fault(
                seg,
                "8",
                faults,
                "HI has diagnoses the guide does not allow".into(),
            );
        }
        if let Some(c) = self.claim.as_mut() {
            c.diagnoses.extend(found);
            if c.diagnoses.len() > 12 {
                c.diagnoses.truncate(12);
            }
        }
    }

    fn lx(&mut self, seg: &Segment<'_>) {
        self.finish_line();
        if self.claim.is_none() {
            self.fault(seg, "2", vec![], "a service line outside a claim".into());
            return;
        }
        self.at = Loop::L2400;
        self.rank = 0;
        let number = seg.text(1).parse().unwrap_or(0);
        self.line = Some(ServiceLine {
            number,
            procedure: String::new(),
            modifiers: vec![],
            revenue_code: None,
            charge: Decimal::ZERO,
            units: Decimal::ONE,
            place_of_service: None,
            diagnosis_pointers: vec![],
            service_from: None,
            service_to: None,
            position: self.count,
        });
    }

    fn procedure(&mut self, seg: &Segment<'_>, n: usize) -> Option<(String, Vec<String>)> {
        let qualifier = seg.component(n, 1);
        let code = seg.component(n, 2);
        if !matches!(qualifier, "HC" | "ER" | "IV" | "WK") {
            self.element_fault(
                seg,
                n as u8,
                Some(1),
                "7",
                "a procedure code qualifier the guide does not allow".into(),
            );
            return None;
        }
        if code.is_empty() {
            self.element_fault(
                seg,
                n as u8,
                Some(2),
                "1",
                "the procedure code is missing".into(),
            );
            return None;
        }
        let modifiers = (3..=6)
            .map(|c| seg.component(n, c))
            .filter(|m| !m.is_empty())
            .map(str::to_string)
            .collect();
        Some((code.to_string(), modifiers))
    }

    fn sv1(&mut self, seg: &Segment<'_>) {
        if self.line.is_none() || self.kind() != ClaimKind::Professional {
            self.fault(
                seg,
                "2",
                vec![],
                "SV1 outside a professional service line".into(),
            );
            return;
        }
        let Some((code, modifiers)) = self.procedure(seg, 1) else {
            return;
        };
        let mut pointers = vec![];
        let mut bad = false;
        for p in seg.components(7) {
            match p.parse::<u8>() {
                Ok(v @ 1..=12) => pointers.push(v),
                _ => bad = true,
            }
        }
        if bad || pointers.len() > 4 {
            self.element_fault(
                seg,
                7,
                None,
                "7",
                "diagnosis pointers are 1 to 12, at most four".into(),
            );
        }
        let l = self.line.as_mut().expect("checked above");
        l.procedure = code;
        l.modifiers = modifiers;
        l.charge = seg.text(2).parse().unwrap_or_default();
        l.units = seg.text(4).parse().unwrap_or(Decimal::ONE);
        l.place_of_service = Some(seg.text(5).to_string()).filter(|s| !s.is_empty());
        l.diagnosis_pointers = pointers;
    }

    fn sv2(&mut self, seg: &Segment<'_>) {
        if self.line.is_none() || self.kind() != ClaimKind::Institutional {
            self.fault(
                seg,
                "2",
                vec![],
                "SV2 outside an institutional service line".into(),
            );
            return;
        }
        let revenue = seg.text(1).to_string();
        if revenue.len() != 4 || !revenue.bytes().all(|b| b.is_ascii_digit()) {
            self.element_fault(seg, 1, None, "7", "the revenue code is four digits".into());
        }
        let procedure = if seg.element(2).is_empty() {
            None
        } else {
            let Some(p) = self.procedure(seg, 2) else {
                return;
            };
            Some(p)
        };
        let l = self.line.as_mut().expect("checked above");
        l.revenue_code = Some(revenue);
        if let Some((code, modifiers)) = procedure {
            l.procedure = code;
            l.modifiers = modifiers;
        }
        l.charge = seg.text(3).parse().unwrap_or_default();
        l.units = seg.text(5).parse().unwrap_or(Decimal::ONE);
    }

    fn finish_line(&mut self) {
        if let (Some(line), Some(claim)) = (self.line.take(), self.claim.as_mut()) {
            claim.lines.push(line);
        }
    }

    fn finish_claim(&mut self) {
        self.finish_line();
        if let Some(c) = self.claim.take() {
            if c.lines.is_empty() {
                self.set.errors.push(SegmentError {
                    id: "LX".into(),
                    position: self.count,
                    loop_id: Some("2400"),
                    code: "3",
                    claim: Some(c.patient_account.clone()),
                    elements: vec![],
                    words: "a claim without service lines".into(),
                });
            }
            if c.subscriber.member_id.expose().is_empty() {
                self.set.errors.push(SegmentError {
                    id: "NM1".into(),
                    position: c.position,
                    loop_id: Some("2010BA"),
                    code: "3",
                    claim: Some(c.patient_account.clone()),
                    elements: vec![],
                    words: "a claim without its subscriber".into(),
                });
            }
            if c.diagnoses.is_empty() {
                self.set.errors.push(SegmentError {
                    id: "HI".into(),
                    position: c.position,
                    loop_id: Some("2300"),
                    code: "3",
                    claim: Some(c.patient_account.clone()),
                    elements: vec![],
                    words: "a claim without a principal diagnosis".into(),
                });
            }
            if c.billing.npi.is_none() {
                self.set.errors.push(SegmentError {
                    id: "NM1".into(),
                    position: c.position,
                    loop_id: Some("2010AA"),
                    code: "3",
                    claim: Some(c.patient_account.clone()),
                    elements: vec![],
                    words: "a claim without its billing provider".into(),
                });
            }
            if !self.set.errors.is_empty() {
                // The set is rejected: what it held is not kept.
                return;
            }
            self.set.claims.push(c);
        }
    }

    fn done(mut self) -> TransactionSet {
        self.set.segments = self.count;
        if !self.seen_bht && self.set.set_errors.is_empty() && self.set.id == "837" {
            self.set.errors.push(SegmentError {
                id: "BHT".into(),
                position: 2,
                loop_id: None,
                code: "3",
                claim: None,
                elements: vec![],
                words: "the set has no BHT".into(),
            });
        }
        if !self.set.accepted() {
            self.set.claims.clear();
        }
        self.set
    }
}

fn person(seg: &Segment<'_>) -> PersonRef {
    PersonRef {
        member_id: Secret::new(seg.text(9).to_string()),
        last_name: Secret::new(seg.text(3).to_string()),
        first_name: Secret::new(seg.text(4).to_string()),
        date_of_birth: Secret::new(String::new()),
    }
}
