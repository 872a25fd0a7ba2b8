//! Every shared 837 fixture (imsweb/x12-parser, BSD-3) read as it is: what
//! the 999 or TA1 says of each, and the claims of those it accepts.

use std::path::PathBuf;

use claimdesk_core::x12::parse::{self, Event, FileError};

fn fixture(name: &str) -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("../../../shared/fixtures/x12-837")
        .join(name)
}

/// A compact account of one file: TA1 codes, and per set its verdict, IK5
/// codes and IK3 faults as "ID@position/loop:code[element:code]".
fn outline(name: &str) -> (Vec<String>, Option<String>) {
    let file = std::fs::File::open(fixture(name)).unwrap();
    let mut lines = vec![];
    let r = parse::read::<_, FileError>(
        file,
        |e| {
            match e {
                Event::Interchange(i) => {
                    lines.push(format!("ISA {} {:?}", i.control, i.header_errors))
                }
                Event::Group(g) => lines.push(format!("GS {} {}", g.functional_id, g.control)),
                Event::Set(s) => {
                    let faults: Vec<String> = s
                        .errors
                        .iter()
                        .map(|e| {
                            let els: Vec<String> = e
                                .elements
                                .iter()
                                .map(|x| format!("{}:{}", x.position, x.code))
                                .collect();
                            format!(
                                "{}@{}/{}:{}{:?}",
                                e.id,
                                e.position,
                                e.loop_id.unwrap_or("-"),
                                e.code,
                                els
                            )
                        })
                        .collect();
                    lines.push(format!(
                        "ST {} {} {:?} claims={} {}",
                        s.control,
                        if s.accepted() { "A" } else { "R" },
                        s.set_errors,
                        s.claims.len(),
                        faults.join(" ")
                    ))
                }
                Event::GroupEnd { errors, .. } => lines.push(format!("GE {errors:?}")),
                Event::InterchangeEnd { errors } => lines.push(format!("IEA {errors:?}")),
            }
            Ok(())
        },
        |_| {},
    );
    (lines, r.err().map(|e| e.to_string()))
}

/// What each fixture must be answered with: pieces of its outline.
const EXPECTED: &[(&str, &[&str])] = &[
    // A 999 sent where an 837 is expected: its group is not a claim group.
    (
        "x12_999_accepted.txt",
        &["GS FA", "ST 0001 R [\"1\"]", "GE [\"1\"]", "IEA [\"001\"]"],
    ),
    (
        "x12_999_rejected.txt",
        &["GS FA", "R [\"1\"]", "GE [\"1\"]"],
    ),
    // Every 837 fixture declares SE01 = 25 whatever its length (IK5 4), and
    // their HL22s say a patient level follows when a claim does (CLM unexpected).
    ("x12_ambiguous_loop.txt", &["R [\"4\"]", "CLM@23/2300:2[]"]),
    (
        "x12_bad_first_line.txt",
        &["ISA 000000905 [\"011\"]", "IEA []"],
    ),
    (
        "x12_bad_segment_identifier.txt",
        &[
            "@4/1000A:1[]",
            "Nd4@9/2010AA:1[]",
            "NM31@18/2000B:1[]",
            "NM1@20/2010BA:3[]",
        ],
    ),
    (
        "x12_bad_valid_code.txt",
        &["NM1@7/2000A:8[\"1:7\"]", "NM1@20/2010AA:3[]"],
    ),
    (
        "x12_complex.txt",
        &[
            "ST 987654 R",
            "ST 987655 R",
            "NM1@31/2310B:8[\"8:7\"]",
            "GE [\"5\"]",
        ],
    ),
    (
        "x12_loop_errors1_exceeds_max_1_parent.txt",
        &["R [\"4\"]", "CLM@26/2300:2[]"],
    ),
    (
        "x12_loop_errors2_exceeds_max_repeats_multiple_parents.txt",
        &["HL@25/2000A:8[\"1:I12\"]", "HL@41/2000B:8[\"1:I12\"]"],
    ),
    (
        "x12_loop_errors3_missing_loops.txt",
        &["NM1@7/2000A:8[\"1:7\"]", "NM1@14/2010AA:3[]"],
    ),
    (
        "x12_many_claims.txt",
        &["ST 987654 R [\"4\"]", "HL@25/2000B:8[\"2:I12\"]"],
    ),
    (
        "x12_missing_elements.txt",
        &["NM1@5/1000B:8[\"2:1\"]", "CLM@29/2300:8[\"5:1\"]"],
    ),
    (
        "x12_missing_required_loop_in_one_repeat.txt",
        &["HL@16/2000B:8[\"2:I12\"]", "NM1@19/2010BA:3[]"],
    ),
    (
        "x12_missing_required_loops_mult_repeats.txt",
        &["SV1@31/2300:2[]", "LX@33/2400:3[]"],
    ),
    ("x12_multiple_gs.txt", &["GS HC 1", "GE []"]),
    (
        "x12_multiple_isa.txt",
        &["ISA 000000905 []", "ISA 000000906 []"],
    ),
    (
        "x12_multiple_st.txt",
        &["ST 987654 R [\"23\", \"4\"]", "GE [\"5\"]"],
    ),
    (
        "x12_multiple_transactions.txt",
        &["ISA 000000905 []", "R [\"4\"]"],
    ),
    (
        "x12_no_errors.txt",
        &["HL@25/2000A:8[\"1:I12\"]", "HL@32/2000B:8[\"1:I12\"]"],
    ),
    ("x12_segment_errors.txt", &["HI@19/2300:3[]"]),
    (
        "x12_segments_out_of_order.txt",
        &["N4@10/2010AA:7[]", "N3@15/2010AB:7[]"],
    ),
    (
        "x12_valid.txt",
        &[
            "R [\"4\"]",
            "HL@25/2000B:8[\"1:I12\"]",
            "HL@25/2000B:8[\"2:I12\"]",
            "HI@21/2300:8[\"1:1\", \"2:7\"",
        ],
    ),
    (
        "x12_valid_different_separators.txt",
        &["R [\"4\"]", "HL@25/2000B:8[\"1:I12\"]"],
    ),
    ("x12_writer_test.txt", &["R [\"4\"]", "CLM@23/2300:2[]"]),
    // An 837I whose CLM05-2 says B (a place of service), as only an 837P may.
    ("x223-test.txt", &["R [\"4\"]", "CLM@23/2300:8[\"5:7\"]"]),
];

#[test]
fn each_fixture_is_answered_with_the_faults_it_has() {
    let mut names: Vec<_> = std::fs::read_dir(fixture(""))
        .unwrap()
        .map(|e| e.unwrap().file_name().into_string().unwrap())
        .filter(|n| n.ends_with(".txt"))
        .collect();
    names.sort();
    let mut checked = 0;
    for n in &names {
        let (lines, err) = outline(n);
        let text = lines.join("\n");
        if n == "x12_no_isa_line.txt" {
            assert!(
                err.as_deref()
                    .is_some_and(|e| e.contains("does not start with an ISA")),
                "{n}: {err:?}"
            );
            checked += 1;
            continue;
        }
        assert_eq!(err, None, "{n}");
        let (_, wanted) = EXPECTED
            .iter()
            .find(|(f, _)| f == n)
            .unwrap_or_else(|| panic!("no expectation for {n}:\n{text}"));
        for w in *wanted {
            assert!(text.contains(w), "{n}: {w:?} missing in\n{text}");
        }
        // None of them holds a set a payer may take as it is.
        assert!(!text.contains(" A ["), "{n}: a set accepted\n{text}");
        checked += 1;
    }
    assert_eq!(checked, 26, "every fixture looked at");
}
