//! The OIG's List of Excluded Individuals/Entities (LEIE): the monthly
//! "updated" CSV read in the OIG's published layout, the difference from
//! the previous month (new exclusions, and reinstatements: people and
//! entities no longer listed), and which of our providers an entry names.
//! [`import`] stores a file's list in central and acts on the matches.

use std::collections::{HashMap, HashSet};
use std::io::Read;

use chrono::NaiveDate;
use serde::Serialize;

use crate::domain::npi;

/// The header of the OIG's file, exactly.
pub const HEADER: [&str; 18] = [
    "LASTNAME",
    "FIRSTNAME",
    "MIDNAME",
    "BUSNAME",
    "GENERAL",
    "SPECIALTY",
    "UPIN",
    "NPI",
    "DOB",
    "ADDRESS",
    "CITY",
    "STATE",
    "ZIP",
    "EXCLTYPE",
    "EXCLDATE",
    "REINDATE",
    "WAIVERDATE",
    "WVRSTATE",
];

/// One listed individual or entity. The date of birth and address are
/// personal data: Debug leaves them out.
#[derive(Clone, PartialEq, Eq)]
pub struct Exclusion {
    /// Last name (individuals).
    pub last_name: String,
    /// First name (individuals).
    pub first_name: String,
    /// Middle name.
    pub middle_name: String,
    /// Business name (entities).
    pub business_name: String,
    /// General category, e.g. "IND- LIC HC SERV PRO".
    pub general: String,
    /// Specialty, e.g. "NURSE/NURSES AIDE".
    pub specialty: String,
    /// UPIN, when given.
    pub upin: String,
    /// NPI, when listed (the OIG writes `0000000000` for none).
    pub npi: Option<String>,
    /// Date of birth (individuals).
    pub dob: Option<NaiveDate>,
    /// Street address.
    pub address: String,
    /// City.
    pub city: String,
    /// Two-letter state.
    pub state: String,
    /// ZIP code.
    pub zip: String,
    /// Exclusion authority, e.g. "1128a1".
    pub exclusion_type: String,
    /// When the exclusion took effect.
    pub exclusion_date: NaiveDate,
    /// Reinstatement date, when given.
    pub reinstatement_date: Option<NaiveDate>,
    /// Waiver date, when given.
    pub waiver_date: Option<NaiveDate>,
    /// Waiver state.
    pub waiver_state: String,
}

impl std::fmt::Debug for Exclusion {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Exclusion")
            .field("npi", &self.npi)
            .field("exclusion_type", &self.exclusion_type)
            .field("exclusion_date", &self.exclusion_date)
            .finish_non_exhaustive()
    }
}

impl Exclusion {
    /// Whether this entry is an entity (a business name, no person's name).
    pub fn is_entity(&self) -> bool {
        self.last_name.is_empty() && !self.business_name.is_empty()
    }

    /// What identifies an entry from one month's file to the next (the OIG
    /// gives no id): the names, the NPI, the authority and the date.
    pub fn key(&self) -> String {
        [
            fold(&self.last_name),
            fold(&self.first_name),
            fold(&self.middle_name),
            fold(&self.business_name),
            self.npi.clone().unwrap_or_default(),
            fold(&self.exclusion_type),
            self.exclusion_date.format("%Y%m%d").to_string(),
        ]
        .join("|")
    }

    /// The name as a person would read it.
    pub fn display_name(&self) -> String {
        if self.is_entity() {
            self.business_name.clone()
        } else {
            format!(
                "{}, {} {}",
                self.last_name, self.first_name, self.middle_name
            )
            .trim_end()
            .to_string()
        }
    }
}

/// Why a file could not be read. Nothing is imported from a file with
/// any of these: a half-read list would clear exclusions it did not reach.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum LeieError {
    /// Not the OIG's header.
    #[error("This is not an LEIE file: its first line should be the OIG's header ({}).", HEADER.join(","))]
    Header,
    /// A row that does not parse.
    #[error("Line {line}: {problem}. Nothing was imported.")]
    Row {
        /// 1-based line in the file.
        line: u64,
        /// What is wrong.
        problem: String,
    },
    /// No rows at all.
    #[error("The file has a header but no exclusions. Nothing was imported.")]
    Empty,
}

/// Reads an LEIE CSV. `progress` is called with the rows read so far,
/// every 1,000 rows and at the end.
pub fn parse(input: impl Read, mut progress: impl FnMut(u64)) -> Result<Vec<Exclusion>, LeieError> {
    let mut reader = csv::ReaderBuilder::new()
        .has_headers(true)
        .flexible(false)
        .from_reader(input);
    let header = reader.headers().map_err(|_| LeieError::Header)?;
    // A byte-order mark from a spreadsheet save is not part of the name.
    let names: Vec<&str> = header
        .iter()
        .map(|h| h.trim_start_matches('\u{feff}').trim())
        .collect();
    if names != HEADER {
        return Err(LeieError::Header);
    }
    let mut out = Vec::new();
    for (i, record) in reader.records().enumerate() {
        let line = i as u64 + 2;
        let record = record.map_err(|e| LeieError::Row {
            line,
            problem: match e.kind() {
                csv::ErrorKind::UnequalLengths { len, .. } => {
                    format!("{len} fields where the layout has {}", HEADER.len())
                }
                _ => "not readable as CSV".into(),
            },
        })?;
        let field = |i: usize| record.get(i).unwrap_or_default().trim().to_string();
        let date = |i: usize, name: &str| -> Result<Option<NaiveDate>, LeieError> {
            let v = field(i);
            if v.is_empty() || v.chars().all(|c| c == '0') {
                return Ok(None);
            }
            NaiveDate::parse_from_str(&v, "%Y%m%d")
                .map(Some)
                .map_err(|_| LeieError::Row {
                    line,
                    problem: format!("{name} is not a date in YYYYMMDD form"),
                })
        };
        let npi = match field(7) {
            n if n.is_empty() || n.chars().all(|c| c == '0') => None,
            n => {
                npi::check(&n).map_err(|p| LeieError::Row {
                    line,
                    problem: format!("NPI {n}: {p}"),
                })?;
                Some(n)
            }
        };
        let entry = Exclusion {
            last_name: field(0),
            first_name: field(1),
            middle_name: field(2),
            business_name: field(3),
            general: field(4),
            specialty: field(5),
            upin: field(6),
            npi,
            dob: date(8, "DOB")?,
            address: field(9),
            city: field(10),
            state: field(11),
            zip: field(12),
            exclusion_type: field(13),
            exclusion_date: date(14, "EXCLDATE")?.ok_or_else(|| LeieError::Row {
                line,
                problem: "EXCLDATE is missing".into(),
            })?,
            reinstatement_date: date(15, "REINDATE")?,
            waiver_date: date(16, "WAIVERDATE")?,
            waiver_state: field(17),
        };
        if entry.last_name.is_empty() && entry.business_name.is_empty() {
            return Err(LeieError::Row {
                line,
                problem: "neither a last name nor a business name".into(),
            });
        }
        out.push(entry);
        if out.len() % 1_000 == 0 {
            progress(out.len() as u64);
        }
    }
    if out.is_empty() {
        return Err(LeieError::Empty);
    }
    progress(out.len() as u64);
    Ok(out)
}

/// What changed since the previous month's list.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Changes<'a> {
    /// Listed now, not before.
    pub new: Vec<&'a Exclusion>,
    /// Listed before, not now: reinstated (or removed by the OIG).
    pub reinstated: Vec<String>,
}

/// The difference between the previous list's keys and this one.
pub fn diff<'a>(previous: &HashSet<String>, current: &'a [Exclusion]) -> Changes<'a> {
    let now: HashSet<String> = current.iter().map(Exclusion::key).collect();
    let mut reinstated: Vec<String> = previous.difference(&now).cloned().collect();
    reinstated.sort();
    Changes {
        new: current
            .iter()
            .filter(|e| !previous.contains(&e.key()))
            .collect(),
        reinstated,
    }
}

/// Our provider, as far as matching needs.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ProviderName {
    /// Our id.
    pub id: uuid::Uuid,
    /// The NPI.
    pub npi: String,
    /// Individuals.
    pub first_name: Option<String>,
    /// Individuals.
    pub last_name: Option<String>,
    /// Organizations.
    pub organization_name: Option<String>,
    /// Two-letter state.
    pub state: Option<String>,
}

/// How an entry was tied to a provider.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum MatchedBy {
    /// The same NPI: certain.
    Npi,
    /// No NPI on the entry: the same name in the same state. Worth a
    /// person's look before acting on it alone; the import flags and pends
    /// (a claim paid to an excluded provider cannot be taken back), and the
    /// flag says how it matched.
    NameAndState,
}

/// Which providers `entry` names.
pub fn matches(entry: &Exclusion, providers: &ProviderIndex) -> Vec<(uuid::Uuid, MatchedBy)> {
    if let Some(npi) = &entry.npi {
        return providers
            .by_npi
            .get(npi)
            .map(|id| vec![(*id, MatchedBy::Npi)])
            .unwrap_or_default();
    }
    let name = if entry.is_entity() {
        fold(&entry.business_name)
    } else {
        format!("{}|{}", fold(&entry.last_name), fold(&entry.first_name))
    };
    providers
        .by_name_state
        .get(&(name, entry.state.to_ascii_uppercase()))
        .map(|ids| {
            ids.iter()
                .map(|id| (*id, MatchedBy::NameAndState))
                .collect()
        })
        .unwrap_or_default()
}

/// Providers indexed for matching.
#[derive(Debug, Default)]
pub struct ProviderIndex {
    by_npi: HashMap<String, uuid::Uuid>,
    by_name_state: HashMap<(String, String), Vec<uuid::Uuid>>,
}

impl ProviderIndex {
    /// Indexes `providers` by NPI, and by folded name and state.
    pub fn new(providers: &[ProviderName]) -> Self {
        let mut index = Self::default();
        for p in providers {
            index.by_npi.insert(p.npi.clone(), p.id);
            let state = p.state.clone().unwrap_or_default().to_ascii_uppercase();
            let names = [
                p.organization_name.as_deref().map(fold),
                match (&p.last_name, &p.first_name) {
                    (Some(l), Some(f)) => Some(format!("{}|{}", fold(l), fold(f))),
                    _ => None,
                },
            ];
            for name in names.into_iter().flatten() {
                index
                    .by_name_state
                    .entry((name, state.clone()))
                    .or_default()
                    .push(p.id);
            }
        }
        index
    }
}

/// Upper case, letters and digits only, single spaces; business suffixes
/// and punctuation do not decide a match ("SMITH, JOHN MD PC." = "SMITH JOHN MD PC").
fn fold(s: &str) -> String {
    s.to_uppercase()
        .split(|c: char| !c.is_alphanumeric())
        .filter(|w| !w.is_empty())
        .collect::<Vec<_>>()
        .join(" ")
}

#[cfg(test)]
mod tests {
    use super::*;

    const HEAD: &str = "LASTNAME,FIRSTNAME,MIDNAME,BUSNAME,GENERAL,SPECIALTY,UPIN,NPI,DOB,ADDRESS,CITY,STATE,ZIP,EXCLTYPE,EXCLDATE,REINDATE,WAIVERDATE,WVRSTATE";

    fn file(rows: &[&str]) -> String {
        format!("{HEAD}\n{}\n", rows.join("\n"))
    }

    #[test]
    fn reads_the_oigs_layout() {
        let text = file(&[
            "HIZA,ELISE,AILEEN,,IND- LIC HC SERV PRO,PHYSICIAN,,1720377294,19700101,1 MAIN ST,SEATTLE,WA,98101,1128b4,20240115,00000000,00000000,",
            r#",,,"CSP ANESTHESIA, LLC",BUSINESS,ANESTHESIA,,0000000000,,403 PERMIAN WAY,VILLA RICA,GA,30180,1128a1,20230301,,,"#,
        ]);
        let mut seen = Vec::new();
        let rows = parse(text.as_bytes(), |n| seen.push(n)).unwrap();
        assert_eq!(rows.len(), 2);
        assert_eq!(seen.last(), Some(&2));
        let hiza = &rows[0];
        assert_eq!(hiza.npi.as_deref(), Some("1720377294"));
        assert_eq!(hiza.dob, NaiveDate::from_ymd_opt(1970, 1, 1));
        assert_eq!(
            hiza.exclusion_date,
            NaiveDate::from_ymd_opt(2024, 1, 15).unwrap()
        );
        assert_eq!(hiza.reinstatement_date, None);
        assert!(!hiza.is_entity());
        let org = &rows[1];
        assert!(org.is_entity());
        assert_eq!(org.business_name, "CSP ANESTHESIA, LLC");
        assert_eq!(org.npi, None);
        assert_eq!(org.dob, None);
        // Debug keeps the date of birth and address out of logs.
        let shown = format!("{hiza:?}");
        assert!(
            !shown.contains("1970") && !shown.contains("MAIN"),
            "{shown}"
        );
    }

    #[test]
    fn refuses_the_whole_file_on_a_bad_header_or_row() {
        assert_eq!(
            parse("NAME,NPI\nX,1\n".as_bytes(), |_| ()),
            Err(LeieError::Header)
        );
        assert_eq!(
            parse(format!("{HEAD}\n").as_bytes(), |_| ()),
            Err(LeieError::Empty)
        );
        let bad_date = file(&["DOE,JANE,,,,,,,,,,TX,,1128a1,2024-01-15,,,"]);
        assert!(matches!(
            parse(bad_date.as_bytes(), |_| ()),
            Err(LeieError::Row { line: 2, ref problem }) if problem.contains("EXCLDATE")
        ));
        let short = file(&["DOE,JANE,,,,,,,,,,TX,,1128a1,20240115,,,", "DOE,JOHN,TX"]);
        assert!(matches!(
            parse(short.as_bytes(), |_| ()),
            Err(LeieError::Row { line: 3, .. })
        ));
        let bad_npi = file(&["DOE,JANE,,,,,,1720377295,,,,TX,,1128a1,20240115,,,"]);
        let err = parse(bad_npi.as_bytes(), |_| ()).unwrap_err();
        assert!(err.to_string().contains("check digit"), "{err}");
        let nameless = file(&[",,,,,,,,,,,TX,,1128a1,20240115,,,"]);
        assert!(matches!(
            parse(nameless.as_bytes(), |_| ()),
            Err(LeieError::Row { line: 2, .. })
        ));
    }

    #[test]
    fn new_exclusions_and_reinstatements_since_last_month() {
        let before = parse(
            file(&[
                "DOE,JANE,,,,,,,,,,TX,,1128a1,20240115,,,",
                "ROE,RICHARD,,,,,,,,,,OK,,1128b4,20230110,,,",
            ])
            .as_bytes(),
            |_| (),
        )
        .unwrap();
        let previous: HashSet<String> = before.iter().map(Exclusion::key).collect();
        let now = parse(
            file(&[
                // Same person, punctuation and case differ: the same entry.
                "Doe,Jane,,,,,,,,,,TX,,1128A1,20240115,,,",
                "POE,EDGAR,,,,,,,,,,MD,,1128a1,20241001,,,",
            ])
            .as_bytes(),
            |_| (),
        )
        .unwrap();
        let changes = diff(&previous, &now);
        assert_eq!(changes.new.len(), 1);
        assert_eq!(changes.new[0].last_name, "POE");
        assert_eq!(changes.reinstated.len(), 1);
        assert!(changes.reinstated[0].starts_with("ROE|RICHARD"));
    }

    #[test]
    fn matches_by_npi_else_by_name_and_state() {
        let id = |n: u128| uuid::Uuid::from_u128(n);
        let providers = ProviderIndex::new(&[
            ProviderName {
                id: id(1),
                npi: "1720377294".into(),
                first_name: Some("Elise".into()),
                last_name: Some("Hiza".into()),
                organization_name: None,
                state: Some("WA".into()),
            },
            ProviderName {
                id: id(2),
                npi: "1568946812".into(),
                first_name: None,
                last_name: None,
                organization_name: Some("CSP Anesthesia LLC".into()),
                state: Some("GA".into()),
            },
            ProviderName {
                id: id(3),
                npi: "1114920071".into(),
                first_name: Some("Jane".into()),
                last_name: Some("Doe".into()),
                organization_name: None,
                state: Some("TX".into()),
            },
        ]);
        let rows = parse(
            file(&[
                // The NPI decides, whatever the name says.
                "HIZA-SMITH,E,,,,,,1720377294,,,,OR,,1128b4,20240115,,,",
                // No NPI: the entity's name in its state.
                r#",,,"CSP ANESTHESIA, LLC",,,,0000000000,,,,GA,,1128a1,20230301,,,"#,
                // No NPI: the person's name, but another state.
                "DOE,JANE,,,,,,,,,,NM,,1128a1,20240115,,,",
                "DOE,JANE,Q,,,,,,,,,TX,,1128a1,20240115,,,",
            ])
            .as_bytes(),
            |_| (),
        )
        .unwrap();
        assert_eq!(matches(&rows[0], &providers), vec![(id(1), MatchedBy::Npi)]);
        assert_eq!(
            matches(&rows[1], &providers),
            vec![(id(2), MatchedBy::NameAndState)]
        );
        assert_eq!(matches(&rows[2], &providers), vec![]);
        assert_eq!(
            matches(&rows[3], &providers),
            vec![(id(3), MatchedBy::NameAndState)]
        );
    }
}

/// A provider flagged by an import.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, specta::Type)]
pub struct Flagged {
    /// Our provider.
    pub provider_id: uuid::Uuid,
    /// Their NPI.
    pub npi: String,
    /// The listed name that matched.
    pub listed_as: String,
    /// `npi`, or `name_state` when the entry had no NPI.
    pub matched_by: String,
    /// Not flagged before this import.
    pub newly_flagged: bool,
    /// Open claims pended by this import.
    pub claims_pended: u32,
}

/// What an import did.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, specta::Type)]
pub struct ImportReport {
    /// The import's id.
    pub id: uuid::Uuid,
    /// Entries in the file.
    pub entries: u32,
    /// Listed now and not in the previous import (all of them the first time).
    pub new_exclusions: u32,
    /// In the previous import and not now: reinstated or removed. Each as "NAME (STATE), authority, date".
    pub reinstated: Vec<String>,
    /// Providers the list names.
    pub flagged: Vec<Flagged>,
}

/// Where an import is, for a progress bar.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, specta::Type)]
#[serde(rename_all = "snake_case")]
pub enum ImportStage {
    /// Reading and checking the file's rows.
    Reading,
    /// Keeping the list on central.
    Storing,
    /// Matching the list against every provider; flagging and pending.
    Screening,
    /// Committed.
    Done,
}

/// An import's progress: `done` of `total` in `stage` (rows for reading and
/// storing, list entries for screening).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, specta::Type)]
pub struct ImportProgress {
    /// The stage.
    pub stage: ImportStage,
    /// Work done in this stage.
    pub done: u32,
    /// Work in this stage (for reading, the file's lines less the header).
    pub total: u32,
}

/// Why an import did not happen. Nothing is kept from a failed import.
#[derive(Debug, thiserror::Error)]
pub enum ImportError {
    /// The file is not a readable LEIE file.
    #[error(transparent)]
    File(#[from] LeieError),
    /// Central failed or refused (a role that may not import, say).
    #[error("central: {0}")]
    Central(#[from] sqlx::Error),
}

/// Imports an LEIE file into central in one transaction: keeps its list,
/// diffs it against the previous import, screens every provider, flags the
/// ones it names and pends their open claims (see migration 0016), and
/// records that all providers were screened. `progress` hears each stage.
pub async fn import(
    central: &mut sqlx::PgConnection,
    file: &[u8],
    id: uuid::Uuid,
    mut progress: impl FnMut(ImportProgress),
) -> Result<ImportReport, ImportError> {
    use sha2::Digest as _;
    use sqlx::Connection as _;
    let count = |n: usize| u32::try_from(n).unwrap_or(u32::MAX);
    let lines = count(
        file.split(|&b| b == b'\n')
            .filter(|l| !l.trim_ascii().is_empty())
            .count(),
    )
    .saturating_sub(1);
    let mut report = |stage, done, total| progress(ImportProgress { stage, done, total });
    let entries = parse(file, |n| {
        report(
            ImportStage::Reading,
            count(n as usize),
            lines.max(count(n as usize)),
        )
    })?;
    let mut tx = central.begin().await?;
    let previous: Vec<(String, String, Option<String>, String, NaiveDate)> = sqlx::query_as(
        "SELECT key, name, state, exclusion_type, exclusion_date FROM claimdesk.leie_entry
         WHERE import_id = (SELECT id FROM claimdesk.leie_import ORDER BY imported_at DESC, id DESC LIMIT 1)",
    )
    .fetch_all(&mut *tx)
    .await?;
    let keys: HashSet<String> = previous.iter().map(|p| p.0.clone()).collect();
    let changes = diff(&keys, &entries);
    let reinstated: HashSet<&String> = changes.reinstated.iter().collect();
    let reinstated: Vec<String> = previous
        .iter()
        .filter(|p| reinstated.contains(&p.0))
        .map(|(_, name, state, kind, date)| {
            format!(
                "{name} ({}), {kind}, {date}",
                state.as_deref().unwrap_or("no state")
            )
        })
        .collect();
    // One entry per key: the OIG file can list the same person twice.
    let mut seen = HashSet::new();
    let unique: Vec<(String, &Exclusion)> = entries
        .iter()
        .map(|e| (e.key(), e))
        .filter(|(key, _)| seen.insert(key.clone()))
        .collect();
    sqlx::query(
        "INSERT INTO claimdesk.leie_import (id, file_sha256, entries, new_count, reinstated_count)
         VALUES ($1, $2, $3, $4, $5)",
    )
    .bind(id)
    .bind(sha2::Sha256::digest(file).to_vec())
    .bind(i32::try_from(unique.len()).unwrap_or(i32::MAX))
    .bind(i32::try_from(changes.new.len()).unwrap_or(i32::MAX))
    .bind(i32::try_from(reinstated.len()).unwrap_or(i32::MAX))
    .execute(&mut *tx)
    .await?;
    for (i, chunk) in unique.chunks(5_000).enumerate() {
        report(ImportStage::Storing, count(i * 5_000), count(unique.len()));
        sqlx::query(
            "INSERT INTO claimdesk.leie_entry (import_id, key, npi, name, state, exclusion_type, exclusion_date)
             SELECT $1, * FROM unnest($2::text[], $3::text[], $4::text[], $5::text[], $6::text[], $7::date[])",
        )
        .bind(id)
        .bind(chunk.iter().map(|(key, _)| key.clone()).collect::<Vec<_>>())
        .bind(chunk.iter().map(|(_, e)| e.npi.clone()).collect::<Vec<_>>())
        .bind(chunk.iter().map(|(_, e)| e.display_name()).collect::<Vec<_>>())
        .bind(chunk.iter().map(|(_, e)| Some(e.state.clone()).filter(|s| !s.is_empty())).collect::<Vec<_>>())
        .bind(chunk.iter().map(|(_, e)| e.exclusion_type.clone()).collect::<Vec<_>>())
        .bind(chunk.iter().map(|(_, e)| e.exclusion_date).collect::<Vec<_>>())
        .execute(&mut *tx)
        .await?;
    }
    let providers: Vec<ProviderName> = sqlx::query_as::<
        _,
        (
            uuid::Uuid,
            String,
            Option<String>,
            Option<String>,
            Option<String>,
            Option<String>,
        ),
    >(
        "SELECT id, npi, first_name, last_name, organization_name, state FROM claimdesk.provider",
    )
    .fetch_all(&mut *tx)
    .await?
    .into_iter()
    .map(
        |(id, npi, first_name, last_name, organization_name, state)| ProviderName {
            id,
            npi,
            first_name,
            last_name,
            organization_name,
            state,
        },
    )
    .collect();
    let npis: HashMap<uuid::Uuid, String> =
        providers.iter().map(|p| (p.id, p.npi.clone())).collect();
    let index = ProviderIndex::new(&providers);
    let mut flagged = Vec::new();
    let mut done = HashSet::new();
    report(ImportStage::Screening, 0, count(unique.len()));
    for (i, (key, entry)) in unique.iter().enumerate() {
        if i % 1_000 == 0 && i > 0 {
            report(ImportStage::Screening, count(i), count(unique.len()));
        }
        for (provider, how) in matches(entry, &index) {
            // A provider named by two entries is flagged once, by the first.
            if !done.insert(provider) {
                continue;
            }
            let matched_by = match how {
                MatchedBy::Npi => "npi",
                MatchedBy::NameAndState => "name_state",
            };
            let (newly, pended): (bool, i32) =
                sqlx::query_as("SELECT * FROM claimdesk.leie_flag($1, $2, $3, $4)")
                    .bind(id)
                    .bind(provider)
                    .bind(key)
                    .bind(matched_by)
                    .fetch_one(&mut *tx)
                    .await?;
            flagged.push(Flagged {
                provider_id: provider,
                npi: npis.get(&provider).cloned().unwrap_or_default(),
                listed_as: entry.display_name(),
                matched_by: matched_by.into(),
                newly_flagged: newly,
                claims_pended: u32::try_from(pended).unwrap_or(0),
            });
        }
    }
    sqlx::query("SELECT claimdesk.leie_screened($1)")
        .bind(id)
        .execute(&mut *tx)
        .await?;
    tx.commit().await?;
    report(ImportStage::Done, count(unique.len()), count(unique.len()));
    Ok(ImportReport {
        id,
        entries: u32::try_from(unique.len()).unwrap_or(u32::MAX),
        new_exclusions: u32::try_from(changes.new.len()).unwrap_or(u32::MAX),
        reinstated,
        flagged,
    })
}
