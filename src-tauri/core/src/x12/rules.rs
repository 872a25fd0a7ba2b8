//! Element rules for the 837 segments intake reads: requirement, type,
//! length and code values as the 005010 TR3s state them. Segments that the
//! guides allow but intake does not read are checked for their id only.

use chrono::NaiveDate;

use super::model::ElementError;
use super::reader::Segment;

/// An element's data type (X12 Appendix B).
#[derive(Clone, Copy)]
pub enum Ty {
    /// Alphanumeric, min and max length.
    An(u8, u8),
    /// Identifier with a code list (empty: any code of that length).
    Id(u8, u8, &'static [&'static str]),
    /// CCYYMMDD.
    Dt,
    /// HHMM[SS[dd]].
    Tm,
    /// Decimal number, max significant digits.
    R(u8),
    /// Integer, min and max digits.
    N0(u8, u8),
    /// A composite, checked by its segment's own code.
    Composite,
}

/// One element of a segment's rule.
#[derive(Clone, Copy)]
pub struct El {
    /// Required by the guide.
    pub required: bool,
    /// Its type.
    pub ty: Ty,
    /// The X12 data element number (IK402).
    pub reference: u16,
}

const fn r(ty: Ty, reference: u16) -> El {
    El {
        required: true,
        ty,
        reference,
    }
}
const fn o(ty: Ty, reference: u16) -> El {
    El {
        required: false,
        ty,
        reference,
    }
}

/// Entity identifier codes (NM101) the 837s use.
const NM101: &[&str] = &[
    "41", "40", "85", "87", "PE", "IL", "PR", "QC", "DN", "P3", "82", "77", "DQ", "PW", "45", "71",
    "72", "ZZ", "QB", "DK", "TL", "GB",
];

use Ty::*;

const R_BHT: &[El] = &[
    r(Id(4, 4, &["0019"]), 1005),
    r(Id(2, 2, &["00", "18"]), 353),
    r(An(1, 50), 127),
    r(Dt, 373),
    r(Tm, 337),
    r(Id(2, 2, &["31", "CH", "RP"]), 640),
];

const R_NM1: &[El] = &[
    r(Id(2, 3, NM101), 98),
    r(Id(1, 1, &["1", "2"]), 1065),
    o(An(1, 60), 1035),
    o(An(1, 35), 1036),
    o(An(1, 25), 1037),
    o(An(1, 10), 1038),
    o(An(1, 10), 1039),
    o(
        Id(
            1,
            2,
            &["46", "XX", "MI", "PI", "II", "24", "34", "XV", "FI"],
        ),
        66,
    ),
    o(An(2, 80), 67),
];

const R_N3: &[El] = &[r(An(1, 55), 166), o(An(1, 55), 166)];

const R_N4: &[El] = &[
    r(An(2, 30), 19),
    o(Id(2, 2, &[]), 156),
    o(Id(3, 15, &[]), 116),
    o(Id(2, 3, &[]), 26),
];

const R_REF: &[El] = &[r(Id(2, 3, &[]), 128), r(An(1, 50), 127)];

const R_PER: &[El] = &[
    r(Id(2, 2, &["IC"]), 366),
    o(An(1, 60), 93),
    o(Id(2, 2, &["EM", "FX", "TE", "EX"]), 365),
    o(An(1, 255), 364),
    o(Id(2, 2, &["EM", "FX", "TE", "EX"]), 365),
    o(An(1, 255), 364),
    o(Id(2, 2, &["EM", "FX", "TE", "EX"]), 365),
    o(An(1, 255), 364),
];

const R_HL: &[El] = &[
    r(An(1, 12), 628),
    o(An(1, 12), 734),
    r(Id(1, 2, &["20", "22", "23"]), 735),
    r(Id(1, 1, &["0", "1"]), 736),
];

const R_PRV: &[El] = &[
    r(Id(1, 3, &["BI", "PE", "AT", "OP", "OT", "RF", "SU"]), 1221),
    r(Id(2, 3, &["PXC"]), 128),
    r(An(1, 50), 127),
];

const R_SBR: &[El] = &[
    r(
        Id(
            1,
            1,
            &["P", "S", "T", "A", "B", "C", "D", "E", "F", "G", "H", "U"],
        ),
        1138,
    ),
    o(Id(2, 2, &[]), 1069),
    o(An(1, 50), 127),
    o(An(1, 60), 93),
    o(Id(1, 3, &[]), 1336),
    o(Id(1, 1, &[]), 1143),
    o(Id(1, 1, &[]), 1073),
    o(Id(2, 2, &[]), 584),
    o(
        Id(
            1,
            2,
            &[
                "11", "12", "13", "14", "15", "16", "17", "AM", "BL", "CH", "CI", "DS", "FI", "HM",
                "LM", "MA", "MB", "MC", "OF", "TV", "VA", "WC", "ZZ",
            ],
        ),
        1032,
    ),
];

const R_PAT: &[El] = &[o(Id(2, 2, &[]), 1069)];

const R_DMG: &[El] = &[
    r(Id(2, 3, &["D8"]), 1250),
    r(An(1, 35), 1251),
    o(Id(1, 1, &["F", "M", "U"]), 1068),
];

const R_CLM: &[El] = &[
    r(An(1, 38), 1028),
    r(R(18), 782),
    o(An(1, 1), 0),
    o(An(1, 1), 0),
    r(Composite, 0),
    o(Id(1, 1, &["N", "Y"]), 1073),
    r(Id(1, 1, &["A", "B", "C"]), 1359),
    r(Id(1, 1, &["N", "W", "Y"]), 1073),
    r(Id(1, 1, &["I", "Y"]), 1363),
    o(Id(1, 1, &["P"]), 1351),
    o(Composite, 0),
    o(Id(2, 3, &[]), 1366),
];

const R_DTP: &[El] = &[
    r(Id(3, 3, &[]), 374),
    r(Id(2, 3, &["D8", "RD8", "DT"]), 1250),
    r(An(1, 35), 1251),
];

const R_PWK: &[El] = &[
    r(Id(2, 2, &[]), 755),
    r(Id(1, 2, &["AA", "BM", "EL", "EM", "FT", "FX"]), 756),
    o(An(1, 1), 0),
    o(An(1, 1), 0),
    o(Id(1, 2, &["AC"]), 66),
    o(An(2, 80), 67),
];

const R_LX: &[El] = &[r(N0(1, 6), 554)];

const R_SV1: &[El] = &[
    r(Composite, 0),
    r(R(18), 782),
    r(Id(2, 2, &["MJ", "UN"]), 355),
    r(R(15), 380),
    o(An(1, 2), 1331),
    o(An(1, 1), 0),
    r(Composite, 0),
    o(An(1, 80), 0),
    o(An(1, 80), 0),
    o(An(1, 80), 0),
    o(An(1, 80), 0),
    o(An(1, 80), 0),
    o(An(1, 80), 0),
    o(An(1, 80), 0),
    o(An(1, 80), 0),
    o(An(1, 80), 0),
    o(An(1, 80), 0),
    o(An(1, 80), 0),
    o(An(1, 80), 0),
    o(An(1, 80), 0),
    o(An(1, 80), 0),
];

const R_SV2: &[El] = &[
    r(An(1, 48), 234),
    o(Composite, 0),
    r(R(18), 782),
    r(Id(2, 2, &["DA", "UN"]), 355),
    r(R(15), 380),
    o(An(1, 80), 0),
    o(An(1, 80), 0),
    o(An(1, 80), 0),
    o(An(1, 80), 0),
    o(An(1, 80), 0),
];

const R_CL1: &[El] = &[
    o(Id(1, 1, &[]), 1315),
    o(Id(1, 1, &[]), 1314),
    r(Id(1, 2, &[]), 1352),
];

const R_HI: &[El] = &[
    r(Composite, 0),
    o(Composite, 0),
    o(Composite, 0),
    o(Composite, 0),
    o(Composite, 0),
    o(Composite, 0),
    o(Composite, 0),
    o(Composite, 0),
    o(Composite, 0),
    o(Composite, 0),
    o(Composite, 0),
    o(Composite, 0),
];

/// The rule of `id`: its elements in order, or `None` for segments intake
/// does not check element by element.
pub fn rule(id: &[u8]) -> Option<&'static [El]> {
    Some(match id {
        b"BHT" => R_BHT,
        b"NM1" => R_NM1,
        b"N3" => R_N3,
        b"N4" => R_N4,
        b"REF" => R_REF,
        b"PER" => R_PER,
        b"HL" => R_HL,
        b"PRV" => R_PRV,
        b"SBR" => R_SBR,
        b"PAT" => R_PAT,
        b"DMG" => R_DMG,
        b"CLM" => R_CLM,
        b"DTP" => R_DTP,
        b"PWK" => R_PWK,
        b"LX" => R_LX,
        b"SV1" => R_SV1,
        b"SV2" => R_SV2,
        b"CL1" => R_CL1,
        b"HI" => R_HI,
        _ => return None,
    })
}

/// Every segment id the 837 professional and institutional guides allow.
pub fn in_837(id: &[u8]) -> bool {
    matches!(
        id,
        b"ST"
            | b"BHT"
            | b"NM1"
            | b"PER"
            | b"HL"
            | b"PRV"
            | b"CUR"
            | b"N3"
            | b"N4"
            | b"REF"
            | b"SBR"
            | b"PAT"
            | b"DMG"
            | b"CLM"
            | b"DTP"
            | b"PWK"
            | b"CN1"
            | b"AMT"
            | b"K3"
            | b"NTE"
            | b"CR1"
            | b"CR2"
            | b"CRC"
            | b"HI"
            | b"HCP"
            | b"CL1"
            | b"LX"
            | b"SV1"
            | b"SV2"
            | b"SV5"
            | b"CR3"
            | b"QTY"
            | b"MEA"
            | b"PS1"
            | b"HSD"
            | b"LIN"
            | b"CTP"
            | b"SVD"
            | b"CAS"
            | b"OI"
            | b"MOA"
            | b"MIA"
            | b"LQ"
            | b"FRM"
            | b"SE"
            | b"CR6"
            | b"CR7"
            | b"CR5"
            | b"CR4"
    )
}

/// An id that is not even the shape of one (two or three upper-case letters
/// or digits, starting with a letter) is "unrecognized" (620 code 1).
pub fn well_formed_id(id: &[u8]) -> bool {
    (2..=3).contains(&id.len())
        && id[0].is_ascii_uppercase()
        && id
            .iter()
            .all(|b| b.is_ascii_uppercase() || b.is_ascii_digit())
}

/// Parses CCYYMMDD.
pub fn date8(s: &str) -> Option<NaiveDate> {
    if s.len() != 8 || !s.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    let y = s[0..4].parse().ok()?;
    let m = s[4..6].parse().ok()?;
    let d = s[6..8].parse().ok()?;
    NaiveDate::from_ymd_opt(y, m, d)
}

fn time_ok(s: &str) -> bool {
    let b = s.as_bytes();
    matches!(b.len(), 4 | 6 | 7 | 8)
        && b.iter().all(u8::is_ascii_digit)
        && s[0..2].parse::<u8>().is_ok_and(|h| h < 24)
        && s[2..4].parse::<u8>().is_ok_and(|m| m < 60)
        && (b.len() < 6 || s[4..6].parse::<u8>().is_ok_and(|sec| sec < 60))
}

/// X12's basic and extended character set (lower case included), which a
/// data element may use; control bytes and non-ASCII are invalid.
fn chars_ok(v: &[u8]) -> bool {
    v.iter().all(|&b| (0x20..0x7f).contains(&b))
}

fn decimal_ok(v: &str, max: u8) -> bool {
    let digits = v.bytes().filter(u8::is_ascii_digit).count();
    let body = v.strip_prefix('-').unwrap_or(v);
    !body.is_empty()
        && body.bytes().all(|b| b.is_ascii_digit() || b == b'.')
        && body.bytes().filter(|&b| b == b'.').count() <= 1
        && body.bytes().any(|b| b.is_ascii_digit())
        && digits <= max as usize
}

/// Checks `seg` against its rule. `copy` says whether IK404 may repeat the
/// bad value (not for segments that carry PHI).
pub fn check(seg: &Segment<'_>, els: &[El], copy: bool, out: &mut Vec<ElementError>) {
    if seg.len() > els.len() {
        out.push(ElementError {
            position: (els.len() + 1) as u8,
            component: None,
            reference: None,
            code: "3",
            copy: None,
        });
    }
    for (i, el) in els.iter().enumerate() {
        let pos = i + 1;
        let raw = seg.element(pos);
        let err = |code: &'static str| ElementError {
            position: pos as u8,
            component: None,
            reference: (el.reference != 0).then_some(el.reference),
            code,
            copy: (copy && !raw.is_empty() && code != "1")
                .then(|| String::from_utf8_lossy(raw).into_owned()),
        };
        if raw.is_empty() {
            if el.required {
                out.push(err("1"));
            }
            continue;
        }
        if !chars_ok(raw) {
            out.push(err("6"));
            continue;
        }
        let v = seg.text(pos);
        let len = v.len();
        let fault = match el.ty {
            Ty::An(min, max) | Ty::Id(min, max, _) if len < min as usize || len > max as usize => {
                Some(if len < min as usize { "4" } else { "5" })
            }
            Ty::Id(_, _, codes) if !codes.is_empty() && !codes.contains(&v) => Some("7"),
            Ty::Dt if date8(v).is_none() => Some("8"),
            Ty::Tm if !time_ok(v) => Some("9"),
            Ty::R(max) if !decimal_ok(v, max) => Some("6"),
            Ty::N0(_, _) if !v.bytes().all(|b| b.is_ascii_digit()) => Some("6"),
            Ty::N0(min, max) if len < min as usize || len > max as usize => {
                Some(if len < min as usize { "4" } else { "5" })
            }
            _ => None,
        };
        if let Some(code) = fault {
            out.push(err(code));
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn dates_and_times() {
        assert_eq!(date8("20240229"), NaiveDate::from_ymd_opt(2024, 2, 29));
        assert_eq!(date8("20230229"), None);
        assert_eq!(date8("2023022"), None);
        assert!(time_ok("0932"));
        assert!(!time_ok("2460"));
    }

    #[test]
    fn decimals() {
        assert!(decimal_ok("12.25", 18));
        assert!(decimal_ok("500", 18));
        assert!(!decimal_ok("12.2.5", 18));
        assert!(!decimal_ok("1e3", 18));
        assert!(!decimal_ok(".", 18));
    }
}
