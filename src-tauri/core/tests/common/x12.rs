//! 837 files for the intake tests, written with `x12::write837`.

use std::path::{Path, PathBuf};

use chrono::NaiveDate;
use claimdesk_core::x12::model::ClaimKind;
use claimdesk_core::x12::write837::{self, ClaimSpec, FileSpec, LineSpec};
use rust_decimal::Decimal;

pub fn dec(s: &str) -> Decimal {
    s.parse().unwrap()
}

pub fn day(s: &str) -> NaiveDate {
    s.parse().unwrap()
}

pub fn line(cpt: &str, charge: &str, date: &str) -> LineSpec {
    LineSpec {
        procedure: cpt.into(),
        modifiers: vec![],
        revenue_code: None,
        charge: dec(charge),
        units: Decimal::ONE,
        pointers: vec![1],
        date: day(date),
    }
}

pub fn claim(account: &str, member: &str, lines: Vec<LineSpec>) -> ClaimSpec {
    ClaimSpec {
        patient_account: account.into(),
        member_id: member.into(),
        last_name: "TESTPERSON".into(),
        first_name: "ADA".into(),
        date_of_birth: day("1980-02-03"),
        gender: "F".into(),
        billing_npi: "1234567893".into(),
        billing_name: "HOPPER CLINIC".into(),
        facility: "11".into(),
        frequency: "1".into(),
        original: None,
        diagnoses: vec!["J069".into()],
        attachments: vec![],
        lines,
        total: None,
    }
}

pub fn file(
    dir: &Path,
    name: &str,
    control: u32,
    kind: ClaimKind,
    claims: &[ClaimSpec],
) -> PathBuf {
    let path = dir.join(name);
    let mut out = std::fs::File::create(&path).unwrap();
    write837::write(
        &mut out,
        &FileSpec {
            sender: "CLEARHOUSE01".into(),
            receiver: "CLAIMDESK".into(),
            control,
            kind,
            claims_per_set: 2,
            date: day("2025-03-10"),
        },
        claims,
    )
    .unwrap();
    path
}
