//! Credentialing rules with no I/O: our provider record beside the NPI
//! Registry's, field by field, with the differences a credentialing
//! specialist must resolve.

use serde::Serialize;

use crate::nppes::{EntityKind, RegistryRecord};

/// A license we hold on file for the provider.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OurLicense {
    /// The number as issued.
    pub number: String,
    /// Issuing state.
    pub state: String,
}

/// Our record of a provider, as far as the registry can confirm it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OurProvider {
    /// The NPI.
    pub npi: String,
    /// Individual or organization.
    pub kind: EntityKind,
    /// Individuals.
    pub first_name: Option<String>,
    /// Individuals.
    pub last_name: Option<String>,
    /// Organizations.
    pub organization_name: Option<String>,
    /// Primary taxonomy code.
    pub taxonomy_code: Option<String>,
    /// Specialty, in words.
    pub specialty: Option<String>,
    /// Practice address.
    pub address_line1: Option<String>,
    /// City.
    pub city: Option<String>,
    /// State.
    pub state: Option<String>,
    /// ZIP.
    pub postal_code: Option<String>,
    /// Medical licenses on file.
    pub licenses: Vec<OurLicense>,
}

/// How the two sides compare on one field.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, specta::Type)]
#[serde(rename_all = "snake_case")]
pub enum Agreement {
    /// The same, once case, punctuation and spacing are set aside.
    Same,
    /// Both have a value and they differ.
    Differs,
    /// Only our record has it.
    OnlyOurs,
    /// Only the registry has it.
    OnlyRegistry,
}

/// One row of the side-by-side comparison.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, specta::Type)]
pub struct FieldComparison {
    /// What is compared, in words ("License (OK)").
    pub field: String,
    /// Our value.
    pub ours: Option<String>,
    /// The registry's value.
    pub registry: Option<String>,
    /// How they compare.
    pub agreement: Agreement,
}

/// Our record beside the registry's, row by row; differences first is the
/// caller's choice, this keeps the form's order.
pub fn compare(ours: &OurProvider, registry: &RegistryRecord) -> Vec<FieldComparison> {
    let mut rows = Vec::new();
    let mut row = |field: String,
                   ours: Option<String>,
                   theirs: Option<String>,
                   same: fn(&str, &str) -> bool| {
        let agreement = match (&ours, &theirs) {
            (Some(a), Some(b)) if same(a, b) => Agreement::Same,
            (Some(_), Some(_)) => Agreement::Differs,
            (Some(_), None) => Agreement::OnlyOurs,
            (None, Some(_)) => Agreement::OnlyRegistry,
            (None, None) => return,
        };
        rows.push(FieldComparison {
            field,
            ours,
            registry: theirs,
            agreement,
        });
    };
    let kind = |k: EntityKind| {
        Some(match k {
            EntityKind::Individual => "Individual".to_string(),
            EntityKind::Organization => "Organization".to_string(),
        })
    };
    row(
        "Entity type".into(),
        kind(ours.kind),
        kind(registry.kind),
        same_words,
    );
    match ours.kind {
        EntityKind::Individual => {
            let name = |last: &Option<String>, first: &Option<String>| match (last, first) {
                (Some(l), Some(f)) => Some(format!("{l}, {f}")),
                (Some(l), None) => Some(l.clone()),
                _ => None,
            };
            row(
                "Name".into(),
                name(&ours.last_name, &ours.first_name),
                name(&registry.last_name, &registry.first_name),
                same_words,
            );
        }
        EntityKind::Organization => row(
            "Organization name".into(),
            ours.organization_name.clone(),
            registry.organization_name.clone(),
            same_words,
        ),
    }
    let primary = registry
        .taxonomies
        .iter()
        .find(|t| t.primary)
        .or(registry.taxonomies.first());
    row(
        "Primary taxonomy".into(),
        ours.taxonomy_code.clone(),
        primary.map(|t| t.code.clone()),
        same_words,
    );
    row(
        "Specialty".into(),
        ours.specialty.clone(),
        primary
            .map(|t| t.description.clone())
            .filter(|d| !d.is_empty()),
        same_words,
    );
    // Licenses by state: the registry lists one per taxonomy.
    let mut states: Vec<String> = registry
        .taxonomies
        .iter()
        .filter_map(|t| t.state.clone().filter(|_| t.license.is_some()))
        .chain(ours.licenses.iter().map(|l| l.state.clone()))
        .map(|s| s.to_ascii_uppercase())
        .collect();
    states.sort();
    states.dedup();
    for state in states {
        let theirs = registry
            .taxonomies
            .iter()
            .find(|t| {
                t.state
                    .as_deref()
                    .is_some_and(|s| s.eq_ignore_ascii_case(&state))
                    && t.license.is_some()
            })
            .and_then(|t| t.license.clone());
        let mine = ours
            .licenses
            .iter()
            .find(|l| l.state.eq_ignore_ascii_case(&state))
            .map(|l| l.number.clone());
        row(format!("License ({state})"), mine, theirs, same_license);
    }
    let location = registry.addresses.iter().find(|a| a.purpose == "LOCATION");
    row(
        "Practice address".into(),
        ours.address_line1.clone(),
        location.map(|a| a.line1.clone()),
        same_street,
    );
    row(
        "City, state".into(),
        match (&ours.city, &ours.state) {
            (Some(c), Some(s)) => Some(format!("{c}, {s}")),
            _ => None,
        },
        location.map(|a| format!("{}, {}", a.city, a.state)),
        same_words,
    );
    row(
        "ZIP".into(),
        ours.postal_code.clone(),
        location.map(|a| a.postal_code.clone()),
        same_zip,
    );
    rows
}

/// Upper-case words of letters and digits.
fn words(s: &str) -> Vec<String> {
    s.to_uppercase()
        .split(|c: char| !c.is_alphanumeric())
        .filter(|w| !w.is_empty())
        .map(str::to_string)
        .collect()
}

fn same_words(a: &str, b: &str) -> bool {
    words(a) == words(b)
}

/// License numbers: letters and digits only, leading zeros aside ("A-00123" = "A123" is not claimed; "00123" = "123" is).
fn same_license(a: &str, b: &str) -> bool {
    let norm = |s: &str| {
        let kept: String = s
            .chars()
            .filter(char::is_ascii_alphanumeric)
            .collect::<String>()
            .to_uppercase();
        kept.trim_start_matches('0').to_string()
    };
    norm(a) == norm(b)
}

/// The first five digits: ZIP+4 or not.
fn same_zip(a: &str, b: &str) -> bool {
    let five = |s: &str| {
        s.chars()
            .filter(char::is_ascii_digit)
            .take(5)
            .collect::<String>()
    };
    five(a) == five(b)
}

/// Street lines with USPS abbreviations folded (STREET = ST, SUITE = STE, …).
fn same_street(a: &str, b: &str) -> bool {
    let fold = |s: &str| {
        words(s)
            .into_iter()
            .map(|w| {
                match w.as_str() {
                    "STREET" => "ST",
                    "AVENUE" => "AVE",
                    "ROAD" => "RD",
                    "DRIVE" => "DR",
                    "BOULEVARD" => "BLVD",
                    "SUITE" => "STE",
                    "LANE" => "LN",
                    "COURT" => "CT",
                    "HIGHWAY" => "HWY",
                    "PARKWAY" => "PKWY",
                    "PLACE" => "PL",
                    "NORTH" => "N",
                    "SOUTH" => "S",
                    "EAST" => "E",
                    "WEST" => "W",
                    "BUILDING" => "BLDG",
                    "FLOOR" => "FL",
                    other => other,
                }
                .to_string()
            })
            .collect::<Vec<_>>()
    };
    fold(a) == fold(b)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::nppes::{RegistryAddress, RegistryTaxonomy};

    fn registry() -> RegistryRecord {
        RegistryRecord {
            npi: "1114920071".into(),
            kind: EntityKind::Individual,
            name: "ABERNATHY, BOB R".into(),
            first_name: Some("BOB".into()),
            last_name: Some("ABERNATHY".into()),
            organization_name: None,
            credential: Some("DO".into()),
            status: Some("A".into()),
            enumeration_date: None,
            last_updated: None,
            addresses: vec![RegistryAddress {
                purpose: "LOCATION".into(),
                line1: "1200 N GLENN ENGLISH".into(),
                line2: None,
                city: "CORDELL".into(),
                state: "OK".into(),
                postal_code: "736322010".into(),
                phone: None,
            }],
            taxonomies: vec![RegistryTaxonomy {
                code: "207Q00000X".into(),
                description: "Family Medicine".into(),
                primary: true,
                state: Some("OK".into()),
                license: Some("2075".into()),
            }],
        }
    }

    fn ours() -> OurProvider {
        OurProvider {
            npi: "1114920071".into(),
            kind: EntityKind::Individual,
            first_name: Some("Bob".into()),
            last_name: Some("Abernathy".into()),
            organization_name: None,
            taxonomy_code: Some("207Q00000X".into()),
            specialty: Some("Family medicine".into()),
            address_line1: Some("1200 North Glenn English".into()),
            city: Some("Cordell".into()),
            state: Some("OK".into()),
            postal_code: Some("73632".into()),
            licenses: vec![OurLicense {
                number: "002075".into(),
                state: "OK".into(),
            }],
        }
    }

    fn agreement(rows: &[FieldComparison], field: &str) -> Agreement {
        rows.iter()
            .find(|r| r.field == field)
            .unwrap_or_else(|| panic!("no {field}"))
            .agreement
    }

    #[test]
    fn the_same_provider_agrees_despite_case_abbreviations_and_zip4() {
        let rows = compare(&ours(), &registry());
        assert!(
            rows.iter().all(|r| r.agreement == Agreement::Same),
            "{rows:#?}"
        );
        let fields: Vec<&str> = rows.iter().map(|r| r.field.as_str()).collect();
        assert_eq!(
            fields,
            [
                "Entity type",
                "Name",
                "Primary taxonomy",
                "Specialty",
                "License (OK)",
                "Practice address",
                "City, state",
                "ZIP"
            ]
        );
    }

    #[test]
    fn mismatches_are_flagged_field_by_field() {
        let mut mine = ours();
        mine.last_name = Some("Abernathey".into());
        mine.taxonomy_code = Some("208D00000X".into());
        mine.licenses = vec![
            OurLicense {
                number: "2076".into(),
                state: "OK".into(),
            },
            OurLicense {
                number: "TX-1".into(),
                state: "TX".into(),
            },
        ];
        mine.postal_code = Some("73633".into());
        let rows = compare(&mine, &registry());
        assert_eq!(agreement(&rows, "Name"), Agreement::Differs);
        assert_eq!(agreement(&rows, "Primary taxonomy"), Agreement::Differs);
        assert_eq!(agreement(&rows, "License (OK)"), Agreement::Differs);
        assert_eq!(agreement(&rows, "License (TX)"), Agreement::OnlyOurs);
        assert_eq!(agreement(&rows, "ZIP"), Agreement::Differs);
        assert_eq!(agreement(&rows, "Practice address"), Agreement::Same);

        mine.licenses.clear();
        mine.specialty = None;
        let rows = compare(&mine, &registry());
        assert_eq!(agreement(&rows, "License (OK)"), Agreement::OnlyRegistry);
        assert_eq!(agreement(&rows, "Specialty"), Agreement::OnlyRegistry);
    }
}
