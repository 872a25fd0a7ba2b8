//! Deterministic, realistic demo data for the central database.
//!
//! Everything comes from one ChaCha stream seeded by `--seed`, so the same
//! seed and size give the same rows (ids included). People are synthetic:
//! names from short lists, SSNs in the 9xx area the SSA never issues, phone
//! numbers in the fictional 555-01xx range. Rows go in with `COPY`, in one
//! transaction, with the audit and feed triggers paused (their effects are
//! written directly: status history rows, and one audit event for the seed).

use std::collections::HashMap;
use std::fmt::Write as _;

use chrono::{
    DateTime, Datelike, Duration, NaiveDate, NaiveDateTime, NaiveTime, TimeZone, Timelike, Utc,
};
use rand::seq::SliceRandom;
use rand::{Rng, RngCore, SeedableRng};
use rand_chacha::ChaCha8Rng;
use sqlx::{Connection, PgConnection};
use uuid::Uuid;

use crate::domain::npi;
use crate::fieldcrypt::FieldKeys;
use crate::priority::{self, ClaimFacts, Rules};
use rust_decimal::Decimal;

/// What to generate.
#[derive(Debug, Clone)]
pub struct SeedOptions {
    /// Number of claims.
    pub claims: u64,
    /// The random seed.
    pub seed: u64,
    /// The seed's clock: "today" for received dates, due dates and plan
    /// years, and nothing is received or changed after it.
    pub now: DateTime<Utc>,
    /// Number of providers.
    pub providers: u32,
}

/// Row counts written.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct SeedReport {
    /// Members including dependents.
    pub members: u64,
    /// Providers.
    pub providers: u64,
    /// Claims.
    pub claims: u64,
    /// Claim lines.
    pub lines: u64,
    /// Appeals.
    pub appeals: u64,
    /// Documents (files attached to claims).
    pub documents: u64,
}

/// Why seeding failed.
#[derive(Debug, thiserror::Error)]
pub enum SeedError {
    /// The database already has claims; seeding adds to an empty model only.
    #[error("the database already holds {0} claims; seed an empty database")]
    NotEmpty(i64),
    /// The database refused.
    #[error(transparent)]
    Database(#[from] sqlx::Error),
}

/// Claims per COPY batch: bounds memory at any size.
const BATCH: u64 = 25_000;

const FIRST_NAMES: [&str; 40] = [
    "Ada", "Ben", "Chloe", "Dmitri", "Elena", "Farid", "Grace", "Hiro", "Ines", "Jamal", "Keiko",
    "Liam", "Maya", "Nikolai", "Olivia", "Priya", "Quinn", "Rosa", "Samir", "Tara", "Umar", "Vera",
    "Wen", "Ximena", "Yusuf", "Zoe", "Aaron", "Beatriz", "Caleb", "Dana", "Emeka", "Fatima",
    "Gabriel", "Hana", "Ivan", "Julia", "Kofi", "Lena", "Mateo", "Nora",
];
const LAST_NAMES: [&str; 40] = [
    "Abara",
    "Bergstrom",
    "Castillo",
    "Dunmore",
    "Eriksen",
    "Fairweather",
    "Galloway",
    "Hartono",
    "Ibsen",
    "Jankowski",
    "Kowalczyk",
    "Lindqvist",
    "Moreau",
    "Nakamura",
    "Okafor",
    "Petrakis",
    "Quintero",
    "Rasmussen",
    "Szabo",
    "Thorne",
    "Uchida",
    "Varga",
    "Whitlock",
    "Xu",
    "Yilmaz",
    "Zamora",
    "Ashby",
    "Brennan",
    "Cordova",
    "Delacroix",
    "Easton",
    "Fenwick",
    "Greer",
    "Holloway",
    "Ingram",
    "Jessup",
    "Kerrigan",
    "Lockhart",
    "Merriweather",
    "Northcott",
];
const PLACES: [(&str, &str, &str); 12] = [
    ("Springfield", "IL", "627"),
    ("Columbus", "OH", "432"),
    ("Atlanta", "GA", "303"),
    ("Tucson", "AZ", "857"),
    ("Madison", "WI", "537"),
    ("Raleigh", "NC", "276"),
    ("Boise", "ID", "837"),
    ("Richmond", "VA", "232"),
    ("Omaha", "NE", "681"),
    ("Albany", "NY", "122"),
    ("Eugene", "OR", "974"),
    ("Austin", "TX", "787"),
];
const STREETS: [&str; 10] = [
    "Maple Ave",
    "Oak St",
    "Cedar Ln",
    "Harbor Rd",
    "Mill St",
    "Ridge Dr",
    "Lake Blvd",
    "Union St",
    "Elm Ct",
    "Park Pl",
];
/// (taxonomy, specialty, individual?)
const TAXONOMIES: [(&str, &str, bool); 12] = [
    ("207Q00000X", "Family medicine", true),
    ("207R00000X", "Internal medicine", true),
    ("207P00000X", "Emergency medicine", true),
    ("207X00000X", "Orthopaedic surgery", true),
    ("2084P0800X", "Psychiatry", true),
    ("225100000X", "Physical therapy", true),
    ("207RC0000X", "Cardiology", true),
    ("213E00000X", "Podiatry", true),
    ("261QU0200X", "Urgent care clinic", false),
    ("282N00000X", "General acute care hospital", false),
    ("291U00000X", "Clinical laboratory", false),
    ("2085R0202X", "Diagnostic radiology", false),
];

/// A care scenario: the procedures billed together, their diagnoses, place.
struct Scenario {
    cpts: &'static [&'static str],
    icds: &'static [&'static str],
    pos: &'static str,
}
const SCENARIOS: [Scenario; 10] = [
    Scenario {
        cpts: &[
            "99213", "99214", "99212", "36415", "85025", "80053", "96372",
        ],
        icds: &["J06.9", "J02.9", "I10", "E11.9", "E78.5", "N39.0"],
        pos: "11",
    },
    Scenario {
        cpts: &["99203", "99204", "99205", "81002", "80048"],
        icds: &["R10.9", "K21.9", "R51.9", "L03.90"],
        pos: "11",
    },
    Scenario {
        cpts: &[
            "99283", "99284", "99285", "71046", "93000", "70450", "85025",
        ],
        icds: &["R07.9", "I21.9", "R55", "S06.0X0A", "I48.91"],
        pos: "23",
    },
    Scenario {
        cpts: &["99395", "99396", "90471", "90686", "36415", "80053"],
        icds: &["Z00.00", "Z23"],
        pos: "11",
    },
    Scenario {
        cpts: &["97110", "97140", "97530"],
        icds: &["M54.50", "M25.561", "M17.11"],
        pos: "11",
    },
    Scenario {
        cpts: &["90834", "90837"],
        icds: &["F32.9", "F41.1"],
        pos: "02",
    },
    Scenario {
        cpts: &["29881", "29880", "20610", "20611", "73610"],
        icds: &["M17.11", "M25.561", "S93.401A"],
        pos: "24",
    },
    Scenario {
        cpts: &["45378", "43239"],
        icds: &["Z12.11", "K21.9", "R10.9"],
        pos: "22",
    },
    Scenario {
        cpts: &["99221", "99223", "93000", "85025", "80053"],
        icds: &["I21.9", "I48.91", "J45.909"],
        pos: "21",
    },
    Scenario {
        cpts: &["11720", "11721", "99212"],
        icds: &["B35.1"],
        pos: "11",
    },
];

/// (code, name, type, line of business, deductible individual/family and
/// out-of-pocket maximum individual/family in dollars, coinsurance in/out of
/// network in percent, out-of-network covered)
type PlanSpec = (
    &'static str,
    &'static str,
    &'static str,
    &'static str,
    i64,
    i64,
    i64,
    i64,
    i64,
    i64,
    bool,
);

/// Typical charge in cents per CPT code, before per-claim variation.
fn base_charge(cpt: &str) -> i64 {
    match cpt {
        "99202" => 11_000,
        "99203" => 16_500,
        "99204" => 25_000,
        "99205" => 32_000,
        "99211" => 4_500,
        "99212" => 9_000,
        "99213" => 13_500,
        "99214" => 19_500,
        "99215" => 26_000,
        "99281" => 15_000,
        "99283" => 42_000,
        "99284" => 78_000,
        "99285" => 125_000,
        "99221" => 21_000,
        "99223" => 39_000,
        "99395" => 21_000,
        "99396" => 23_000,
        "36415" => 1_800,
        "80048" => 4_200,
        "80053" => 5_600,
        "85025" => 3_800,
        "85027" => 3_100,
        "81002" => 1_500,
        "71046" => 14_000,
        "73610" => 12_000,
        "70450" => 98_000,
        "72148" => 165_000,
        "93000" => 6_500,
        "93005" => 3_500,
        "93010" => 2_500,
        "12001" => 29_000,
        "20610" => 22_000,
        "20611" => 31_000,
        "29880" => 520_000,
        "29881" => 480_000,
        "45378" => 185_000,
        "43239" => 160_000,
        "11720" => 7_500,
        "11721" => 9_500,
        "90834" => 15_500,
        "90837" => 21_000,
        "97110" => 6_500,
        "97140" => 6_000,
        "97530" => 7_000,
        "90471" => 3_000,
        "90686" => 4_500,
        "96372" => 4_000,
        _ => 10_000,
    }
}

/// Denial reasons the seed uses, with the explanation an adjudicator would write.
const DENIALS: [(&str, &str, &str); 7] = [
    (
        "CO",
        "29",
        "Received more than 12 months after the date of service.",
    ),
    ("PR", "27", "Coverage had ended before the date of service."),
    (
        "CO",
        "197",
        "The procedure needs prior authorization and none is on file.",
    ),
    (
        "CO",
        "18",
        "Same member, provider, date and services as a claim already processed.",
    ),
    (
        "CO",
        "16",
        "Rendering provider details missing; resubmit with the NPI.",
    ),
    (
        "CO",
        "50",
        "Clinical review found the service not medically necessary.",
    ),
    ("PR", "204", "The plan does not cover this service."),
];

/// One COPY payload in PostgreSQL's text format.
struct CopyRows {
    buf: String,
}

impl CopyRows {
    fn new() -> Self {
        Self {
            buf: String::with_capacity(1 << 20),
        }
    }
    fn text(&mut self, v: &str) -> &mut Self {
        for c in v.chars() {
            match c {
                '\\' => self.buf.push_str("\\\\"),
                '\t' => self.buf.push_str("\\t"),
                '\n' => self.buf.push_str("\\n"),
                '\r' => self.buf.push_str("\\r"),
                c => self.buf.push(c),
            }
        }
        self.buf.push('\t');
        self
    }
    fn val(&mut self, v: impl std::fmt::Display) -> &mut Self {
        let _ = write!(self.buf, "{v}\t");
        self
    }
    fn opt(&mut self, v: Option<impl std::fmt::Display>) -> &mut Self {
        match v {
            Some(v) => self.val(v),
            None => self.null(),
        }
    }
    fn null(&mut self) -> &mut Self {
        self.buf.push_str("\\N\t");
        self
    }
    fn money(&mut self, cents: i64) -> &mut Self {
        self.val(Money(cents))
    }
    fn bytea(&mut self, bytes: &[u8]) -> &mut Self {
        self.buf.push_str("\\\\x");
        for b in bytes {
            let _ = write!(self.buf, "{b:02x}");
        }
        self.buf.push('\t');
        self
    }
    fn end(&mut self) {
        self.buf.pop();
        self.buf.push('\n');
    }
    async fn send(
        self,
        conn: &mut PgConnection,
        table: &str,
        columns: &str,
    ) -> Result<(), sqlx::Error> {
        if self.buf.is_empty() {
            return Ok(());
        }
        let mut copy = conn
            .copy_in_raw(&format!(
                "COPY claimdesk.{table} ({columns}) FROM STDIN (FORMAT text)"
            ))
            .await?;
        copy.send(self.buf.into_bytes()).await?;
        copy.finish().await?;
        Ok(())
    }
}

/// Cents printed as a NUMERIC(12,2) literal; money never passes through f64.
struct Money(i64);
impl std::fmt::Display for Money {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}.{:02}", self.0 / 100, self.0 % 100)
    }
}

fn pct(cents: i64, percent: i64) -> i64 {
    cents * percent / 100
}

struct Gen {
    rng: ChaCha8Rng,
}

impl Gen {
    fn uuid(&mut self) -> Uuid {
        let mut bytes = [0u8; 16];
        self.rng.fill_bytes(&mut bytes);
        uuid::Builder::from_random_bytes(bytes).into_uuid()
    }
    fn pick<T: Copy>(&mut self, items: &[T]) -> T {
        *items.choose(&mut self.rng).expect("non-empty list")
    }
    fn chance(&mut self, p: f64) -> bool {
        self.rng.gen_bool(p)
    }
    fn date_between(&mut self, from: NaiveDate, to: NaiveDate) -> NaiveDate {
        let days = (to - from).num_days().max(0);
        from + Duration::days(self.rng.gen_range(0..=days))
    }
    fn npi(&mut self, used: &mut std::collections::HashSet<String>) -> String {
        loop {
            let body: String = (0..9)
                .map(|i| {
                    let d = if i == 0 {
                        self.rng.gen_range(1..=2)
                    } else {
                        self.rng.gen_range(0..=9)
                    };
                    char::from(b'0' + d)
                })
                .collect();
            let npi = (0..=9)
                .map(|d| format!("{body}{d}"))
                .find(|n| npi::is_valid(n))
                .expect("one check digit fits");
            if used.insert(npi.clone()) {
                return npi;
            }
        }
    }
    fn digits(&mut self, n: usize) -> String {
        (0..n)
            .map(|_| char::from(b'0' + self.rng.gen_range(0..=9u8)))
            .collect()
    }
}

struct MemberRef {
    id: Uuid,
    policy: Uuid,
    restricted: bool,
    /// Days from receipt to the prompt-pay due date under the member's plan.
    prompt_pay_days: i32,
}

struct ProviderRef {
    id: Uuid,
    in_network: bool,
}

/// Writes the whole demo model. Refuses a database that already has claims.
pub async fn seed(
    conn: &mut PgConnection,
    keys: &FieldKeys,
    opts: &SeedOptions,
    mut progress: impl FnMut(&str, u64),
) -> Result<SeedReport, SeedError> {
    let existing: i64 = sqlx::query_scalar("SELECT count(*) FROM claimdesk.claim")
        .fetch_one(&mut *conn)
        .await?;
    if existing > 0 {
        return Err(SeedError::NotEmpty(existing));
    }
    let mut g = Gen {
        rng: ChaCha8Rng::seed_from_u64(opts.seed),
    };
    let mut report = SeedReport::default();
    let now = opts.now;
    let today = now.date_naive();
    let mut tx = conn.begin().await?;
    // Bulk load without per-row audit and feed triggers; constraints still
    // apply. Re-enabled before commit, so nobody ever sees them off.
    sqlx::raw_sql(&toggle_triggers(false))
        .execute(&mut *tx)
        .await?;
    // Foreign keys are checked row by row during COPY (millions of lookups);
    // dropping them for the load and adding them back validates each with
    // one join instead. Same transaction, so nobody sees them missing.
    let foreign_keys: Vec<(String, String, String)> = sqlx::query_as(
        "SELECT format('claimdesk.%I', c.relname), k.conname::text, pg_get_constraintdef(k.oid)
         FROM pg_constraint k JOIN pg_class c ON c.oid = k.conrelid
         WHERE k.contype = 'f' AND c.relnamespace = 'claimdesk'::regnamespace
           AND c.relname = ANY(string_to_array($1, ','))",
    )
    .bind(SEEDED_TABLES.replace(char::is_whitespace, ""))
    .fetch_all(&mut *tx)
    .await?;
    for (table, name, _) in &foreign_keys {
        sqlx::raw_sql(&format!("ALTER TABLE {table} DROP CONSTRAINT \"{name}\""))
            .execute(&mut *tx)
            .await?;
    }

    // --- employers and plans ---------------------------------------------
    let mut c = CopyRows::new();
    let mut groups = Vec::new();
    for i in 0..40 {
        let id = g.uuid();
        let tax_id = format!("9{}", g.digits(8));
        let (city, state, _) = g.pick(&PLACES);
        c.val(id)
            .text(&format!("GRP-{:05}", 10_000 + i))
            .text(&format!(
                "{} {}",
                g.pick(&LAST_NAMES),
                g.pick(&[
                    "Manufacturing",
                    "Logistics",
                    "Foods",
                    "Schools",
                    "Software",
                    "Health System"
                ])
            ))
            .bytea(&keys.seal("employer_group", "tax_id", id, &tax_id))
            .val(keys.current())
            .text(&tax_id[5..])
            .text(city)
            .text(state);
        c.end();
        groups.push(id);
    }
    c.send(
        &mut tx,
        "employer_group",
        "id, group_number, name, tax_id_ciphertext, tax_id_key_version, tax_id_last4, city, state",
    )
    .await?;

    let plan_specs: [PlanSpec; 6] = [
        (
            "PPO-GOLD",
            "Gold PPO",
            "PPO",
            "commercial",
            500,
            1_000,
            4_000,
            8_000,
            20,
            40,
            true,
        ),
        (
            "PPO-SILVER",
            "Silver PPO",
            "PPO",
            "commercial",
            1_500,
            3_000,
            6_500,
            13_000,
            30,
            50,
            true,
        ),
        (
            "HMO-BASIC",
            "Basic HMO",
            "HMO",
            "commercial",
            0,
            0,
            3_500,
            7_000,
            10,
            100,
            false,
        ),
        (
            "HDHP-HSA",
            "HSA-qualified HDHP",
            "HDHP",
            "commercial",
            3_200,
            6_400,
            7_000,
            14_000,
            20,
            40,
            true,
        ),
        (
            "EPO-EXCH",
            "Exchange EPO",
            "EPO",
            "exchange",
            2_500,
            5_000,
            8_700,
            17_400,
            30,
            100,
            false,
        ),
        (
            "MA-PPO",
            "Medicare Advantage PPO",
            "PPO",
            "medicare_advantage",
            250,
            250,
            5_000,
            5_000,
            20,
            30,
            true,
        ),
    ];
    // Due dates follow the payer's prompt-pay rule for each line of business,
    // as prompt_pay_due_for() does for claims that arrive one at a time.
    let pay_days: HashMap<String, i32> =
        sqlx::query_as("SELECT line_of_business, days FROM claimdesk.prompt_pay_rule")
            .fetch_all(&mut *tx)
            .await?
            .into_iter()
            .collect();
    let mut plans = Vec::new();
    let mut c = CopyRows::new();
    let mut b = CopyRows::new();
    let categories: Vec<String> =
        sqlx::query_scalar("SELECT code FROM claimdesk.benefit_category ORDER BY code")
            .fetch_all(&mut *tx)
            .await?;
    // Plan id → deductible and out-of-pocket limits in cents (individual,
    // family), so seeded accumulators stay within them.
    let mut limits: std::collections::HashMap<Uuid, [i64; 4]> = Default::default();
    for spec in plan_specs {
        let id = g.uuid();
        c.val(id)
            .text(spec.0)
            .text(spec.1)
            .text(spec.2)
            .text(spec.3)
            .money(spec.4 * 100)
            .money(spec.5 * 100)
            .money(spec.6 * 100)
            .money(spec.7 * 100)
            .val(spec.8)
            .val(spec.9)
            .val(spec.10)
            .val("2018-01-01");
        c.end();
        for cat in &categories {
            let copay = match cat.as_str() {
                "office_visit" => 2_500,
                "specialist" => 5_000,
                "urgent_care" => 7_500,
                "emergency" => 25_000,
                "mental_health" => 3_000,
                _ => 0,
            };
            let copay = if spec.2 == "HDHP" { 0 } else { copay };
            b.val(g.uuid())
                .val(id)
                .text(cat)
                .money(copay)
                .money(copay * 2)
                .val(copay == 0 && cat != "preventive")
                .val(spec.10)
                .val(matches!(
                    cat.as_str(),
                    "advanced_imaging" | "inpatient" | "surgery"
                ));
            // Physical therapy is the benefit plans usually cap by visits.
            if cat == "therapy" {
                b.val(20);
            } else {
                b.null();
            }
            b.end();
        }
        plans.push((id, pay_days.get(spec.3).copied().unwrap_or(30)));
        limits.insert(id, [spec.4 * 100, spec.5 * 100, spec.6 * 100, spec.7 * 100]);
    }
    c.send(&mut tx, "plan", "id, plan_code, name, plan_type, line_of_business, deductible_individual, deductible_family, oop_max_individual, oop_max_family, coinsurance_in_network, coinsurance_out_of_network, out_of_network_covered, effective_date").await?;
    b.send(&mut tx, "plan_benefit", "id, plan_id, benefit_category, copay_in_network, copay_out_of_network, deductible_applies, covered_out_of_network, requires_prior_auth, visit_limit").await?;
    progress("plans and employers", plans.len() as u64);

    // --- members, policies, coverage, accumulators -----------------------
    let subscribers = (opts.claims / 8).clamp(20, 150_000);
    let mut members: Vec<MemberRef> = Vec::new();
    let mut m = CopyRows::new();
    let mut p = CopyRows::new();
    let mut cov = CopyRows::new();
    let mut acc = CopyRows::new();
    let plan_year = today.year();
    for s in 0..subscribers {
        let sub_id = g.uuid();
        let policy_id = g.uuid();
        let (plan, prompt_pay_days) = g.pick(&plans);
        let [ded_ind, ded_fam, oop_ind, oop_fam] = limits[&plan];
        // What the family has met so far this year: a member's share stops
        // at the individual limit and the family's at the family limit.
        let (mut family_ded, mut family_oop) = (0i64, 0i64);
        let group = if g.chance(0.8) {
            Some(g.pick(&groups))
        } else {
            None
        };
        let last = g.pick(&LAST_NAMES);
        let (city, state, zip) = g.pick(&PLACES);
        let address = format!("{} {}", g.rng.gen_range(10..9999), g.pick(&STREETS));
        let restricted = g.chance(0.005);
        let dependents = g.pick(&[0u32, 0, 1, 1, 2, 3]);
        let level = match dependents {
            0 => "individual",
            1 => "individual_spouse",
            _ => "family",
        };
        p.val(policy_id)
            .text(&format!("POL-{:08}", s + 1))
            .val(sub_id)
            .val(plan)
            .opt(group)
            .text(level);
        p.end();
        let enrolled = g.date_between(
            NaiveDate::from_ymd_opt(2018, 1, 1).unwrap(),
            today - Duration::days(30),
        );
        for d in 0..=dependents {
            let id = if d == 0 { sub_id } else { g.uuid() };
            let relationship = match d {
                0 => "self",
                1 => "spouse",
                _ => "child",
            };
            let dob = match d {
                0 | 1 => g.date_between(
                    NaiveDate::from_ymd_opt(1950, 1, 1).unwrap(),
                    NaiveDate::from_ymd_opt(2000, 12, 31).unwrap(),
                ),
                _ => g.date_between(
                    NaiveDate::from_ymd_opt(2006, 1, 1).unwrap(),
                    NaiveDate::from_ymd_opt(2023, 12, 31).unwrap(),
                ),
            };
            let ssn = format!("9{}", g.digits(8));
            let status = match g.rng.gen_range(0..100) {
                0..=95 => "active",
                96..=97 => "inactive",
                98 => "suspended",
                _ => "deceased",
            };
            m.val(id)
                .text(&format!("M{:09}-{:02}", s + 1, d + 1))
                .val(sub_id)
                .text(relationship)
                .text(g.pick(&FIRST_NAMES))
                .text(last)
                .val(dob)
                .text(g.pick(&["F", "M", "F", "M", "X"]))
                .bytea(&keys.seal("member", "ssn", id, &ssn))
                .val(keys.current())
                .text(&ssn[5..])
                .text(&address)
                .text(city)
                .text(state)
                .text(&format!("{zip}{:02}", g.rng.gen_range(0..100)))
                .text(&format!("555-01{:02}", g.rng.gen_range(0..100)))
                .opt(group)
                .text(status)
                .val(restricted);
            m.end();
            // Coverage: most continuous, some terminated, some with a gap, a few not yet started.
            let start = if d >= 2 { enrolled.max(dob) } else { enrolled };
            match g.rng.gen_range(0..100) {
                0..=79 => {
                    cov.val(g.uuid())
                        .val(policy_id)
                        .val(id)
                        .val(start)
                        .null()
                        .text("active")
                        .null();
                    cov.end();
                }
                80..=89 => {
                    let end = g.date_between(start, today - Duration::days(1));
                    cov.val(g.uuid())
                        .val(policy_id)
                        .val(id)
                        .val(start)
                        .val(end)
                        .text("terminated")
                        .text("voluntary");
                    cov.end();
                }
                90..=96 => {
                    let gap_start = g.date_between(start, today - Duration::days(20));
                    let resume = gap_start + Duration::days(g.rng.gen_range(30..120));
                    cov.val(g.uuid())
                        .val(policy_id)
                        .val(id)
                        .val(start)
                        .val(gap_start)
                        .text("terminated")
                        .text("non_payment");
                    cov.end();
                    cov.val(g.uuid())
                        .val(policy_id)
                        .val(id)
                        .val(resume)
                        .null()
                        .text("active")
                        .null();
                    cov.end();
                }
                _ => {
                    let future = today + Duration::days(g.rng.gen_range(5..60));
                    cov.val(g.uuid())
                        .val(policy_id)
                        .val(id)
                        .val(future)
                        .null()
                        .text("pending")
                        .null();
                    cov.end();
                }
            }
            // Draws in the order they always had (deductible, row id, then
            // out of pocket), so every other seeded value stays the same.
            let ded_draw = g.rng.gen_range(0..150_000i64);
            let acc_id = g.uuid();
            let oop_draw = g.rng.gen_range(0..200_000i64);
            let ded = ded_draw
                .min(ded_ind)
                .min((ded_fam - family_ded).max(0))
                .min((oop_fam - family_oop).max(0));
            let oop = (ded + oop_draw)
                .min(oop_ind)
                .min((oop_fam - family_oop).max(0))
                .max(ded);
            family_ded += ded;
            family_oop += oop;
            acc.val(acc_id)
                .val(id)
                .val(policy_id)
                .val(plan_year)
                .money(ded)
                .money(oop);
            acc.end();
            members.push(MemberRef {
                id,
                policy: policy_id,
                restricted,
                prompt_pay_days,
            });
        }
    }
    m.send(&mut tx, "member", "id, member_number, subscriber_id, relationship, first_name, last_name, date_of_birth, gender, ssn_ciphertext, ssn_key_version, ssn_last4, address_line1, city, state, postal_code, phone, employer_group_id, status, restricted").await?;
    p.send(
        &mut tx,
        "policy",
        "id, policy_number, subscriber_id, plan_id, employer_group_id, coverage_level",
    )
    .await?;
    cov.send(
        &mut tx,
        "coverage_period",
        "id, policy_id, member_id, effective_date, termination_date, status, termination_reason",
    )
    .await?;
    acc.send(
        &mut tx,
        "accumulator",
        "id, member_id, policy_id, plan_year, deductible_met, oop_met",
    )
    .await?;
    report.members = members.len() as u64;
    progress("members", report.members);

    // --- providers, credentials, contracts, fee schedules ----------------
    let cpts: Vec<String> = sqlx::query_scalar("SELECT code FROM claimdesk.cpt_code ORDER BY code")
        .fetch_all(&mut *tx)
        .await?;
    let mut used_npis = std::collections::HashSet::new();
    let mut providers = Vec::new();
    let (mut pv, mut cr, mut vf, mut ct, mut fs) = (
        CopyRows::new(),
        CopyRows::new(),
        CopyRows::new(),
        CopyRows::new(),
        CopyRows::new(),
    );
    let mut fees: HashMap<(Uuid, String), i64> = HashMap::new();
    for i in 0..opts.providers {
        let id = g.uuid();
        let taxonomy = g.rng.gen_range(0..TAXONOMIES.len());
        let (code, specialty, individual) = TAXONOMIES[taxonomy];
        let (city, state, zip) = g.pick(&PLACES);
        let network = match g.rng.gen_range(0..100) {
            0..=79 => "in_network",
            80..=94 => "out_of_network",
            _ => "pending",
        };
        let excluded = g.chance(0.03);
        let tin = format!("9{}", g.digits(8));
        let last_verified = g.date_between(today - Duration::days(900), today - Duration::days(5));
        pv.val(id).text(&g.npi(&mut used_npis)).text(if individual {
            "individual"
        } else {
            "organization"
        });
        if individual {
            pv.text(g.pick(&FIRST_NAMES))
                .text(g.pick(&LAST_NAMES))
                .null()
                .text(g.pick(&["MD", "DO", "NP", "PA", "DPT", "DPM"]));
        } else {
            pv.null()
                .null()
                .text(&format!(
                    "{city} {specialty} {}",
                    ["Center", "Associates", "Group", "Partners"][i as usize % 4]
                ))
                .null();
        }
        pv.text(code)
            .text(specialty)
            .bytea(&keys.seal("provider", "tax_id", id, &tin))
            .val(keys.current())
            .text(&tin[5..])
            .text(&format!(
                "{} {}",
                g.rng.gen_range(100..9999),
                g.pick(&STREETS)
            ))
            .text(city)
            .text(state)
            .text(&format!("{zip}{:02}", g.rng.gen_range(0..100)))
            .text(&format!("555-01{:02}", g.rng.gen_range(0..100)))
            .text(network)
            .val(excluded);
        if excluded {
            pv.text("oig_leie")
                .val(g.date_between(today - Duration::days(1500), today - Duration::days(10)));
        } else {
            pv.null().null();
        }
        pv.val(last_verified + Duration::days(36 * 30));
        pv.end();

        let types: &[&str] = if individual {
            &[
                "medical_license",
                "dea",
                "board_certification",
                "malpractice_insurance",
                "hospital_privileges",
            ]
        } else {
            &["medical_license", "malpractice_insurance"]
        };
        for t in types {
            let cid = g.uuid();
            let issued = g.date_between(today - Duration::days(3650), today - Duration::days(400));
            let (status, expires) = match g.rng.gen_range(0..100) {
                0..=83 => (
                    "verified",
                    today + Duration::days(g.rng.gen_range(10..1000)),
                ),
                84..=91 => ("expired", today - Duration::days(g.rng.gen_range(1..400))),
                92..=98 => ("pending", today + Duration::days(g.rng.gen_range(30..700))),
                _ => ("revoked", today + Duration::days(g.rng.gen_range(30..700))),
            };
            let source = match *t {
                "medical_license" => "State medical board",
                "dea" => "DEA registration lookup",
                "board_certification" => "Specialty board",
                "malpractice_insurance" => "Carrier certificate",
                _ => "Hospital medical staff office",
            };
            let verified_at = Utc.from_utc_datetime(
                &last_verified.and_time(NaiveTime::from_hms_opt(14, 0, 0).unwrap()),
            );
            cr.val(cid)
                .val(id)
                .text(t)
                .text(&format!("{}-{}", &t[..3].to_uppercase(), g.digits(7)))
                .text(source)
                .text(state)
                .val(issued)
                .val(expires)
                .text(status);
            if status == "verified" {
                cr.text(source)
                    .text("seed_credentialing")
                    .val(verified_at.to_rfc3339());
                vf.val(g.uuid())
                    .val(cid)
                    .text(source)
                    .text("verified")
                    .text("seed_credentialing")
                    .val(verified_at.to_rfc3339());
                vf.end();
            } else {
                cr.null().null().null();
            }
            cr.end();
        }
        if network == "in_network" {
            let contract = g.uuid();
            ct.val(contract)
                .text(&format!("CON-{:05}", i + 1))
                .val(id)
                .text(if individual { "individual" } else { "facility" })
                .val(g.date_between(
                    NaiveDate::from_ymd_opt(2019, 1, 1).unwrap(),
                    NaiveDate::from_ymd_opt(2023, 1, 1).unwrap(),
                ))
                .text("active");
            ct.end();
            let factor = g.rng.gen_range(55..90);
            for cpt in &cpts {
                let allowed = pct(base_charge(cpt), factor);
                fs.val(g.uuid())
                    .val(contract)
                    .text(cpt)
                    .text("")
                    .money(allowed)
                    .val("2019-01-01");
                fs.end();
                fees.insert((id, cpt.clone()), allowed);
            }
        }
        providers.push(ProviderRef {
            id,
            in_network: network == "in_network",
        });
    }
    pv.send(&mut tx, "provider", "id, npi, entity_type, first_name, last_name, organization_name, credential_suffix, taxonomy_code, specialty, tax_id_ciphertext, tax_id_key_version, tax_id_last4, address_line1, city, state, postal_code, phone, network_status, excluded, exclusion_source, exclusion_date, recredential_due").await?;
    cr.send(&mut tx, "provider_credential", "id, provider_id, credential_type, credential_number, issuing_authority, state, issue_date, expiration_date, status, verification_source, verified_by, verified_at").await?;
    vf.send(
        &mut tx,
        "credential_verification",
        "id, credential_id, source, result, verified_by, verified_at",
    )
    .await?;
    ct.send(
        &mut tx,
        "contract",
        "id, contract_number, provider_id, contract_type, effective_date, status",
    )
    .await?;
    fs.send(
        &mut tx,
        "fee_schedule",
        "id, contract_id, cpt_code, modifier, allowed_amount, effective_date",
    )
    .await?;
    report.providers = providers.len() as u64;
    progress("providers", report.providers);

    // --- claims ------------------------------------------------------------
    let ncci: Vec<(String, String)> = sqlx::query_as(
        "SELECT column1_code, column2_code FROM claimdesk.ncci_ptp WHERE deletion_date IS NULL",
    )
    .fetch_all(&mut *tx)
    .await?;
    let rules = priority::rules_from_reference(&mut tx).await?;
    let mut counters: HashMap<NaiveDate, u32> = HashMap::new();
    let mut recent: Vec<RecentClaim> = Vec::new();
    let mut written = 0u64;
    while written < opts.claims {
        let n = BATCH.min(opts.claims - written);
        let mut out = ClaimCopies::new();
        for _ in 0..n {
            generate_claim(
                &mut g,
                &mut out,
                &members,
                &providers,
                &fees,
                &ncci,
                &mut counters,
                &mut recent,
                now,
                &rules,
                &mut report,
            );
        }
        out.send(&mut tx).await?;
        written += n;
        progress("claims", written);
    }
    report.claims = written;

    // The queue trigger was paused with the rest; one statement fills it.
    sqlx::query("SELECT claimdesk.queue_rebuild()")
        .execute(&mut *tx)
        .await?;

    let wanted = (opts.claims / 20).clamp(opts.claims.min(5), 1_500) as i64;
    report.documents = seed_documents(&mut tx, &mut g, wanted, now).await?;
    progress("documents", report.documents);

    // Future claim numbers continue after the seeded ones.
    let (days, lasts): (Vec<NaiveDate>, Vec<i32>) =
        counters.into_iter().map(|(d, n)| (d, n as i32)).unzip();
    sqlx::query(
        "INSERT INTO claimdesk.claim_number_counter (day, last_value) SELECT * FROM unnest($1::date[], $2::int[])
         ON CONFLICT (day) DO UPDATE SET last_value = greatest(claimdesk.claim_number_counter.last_value, EXCLUDED.last_value)",
    )
    .bind(&days)
    .bind(&lasts)
    .execute(&mut *tx)
    .await?;

    for (table, name, definition) in &foreign_keys {
        sqlx::raw_sql(&format!(
            "ALTER TABLE {table} ADD CONSTRAINT \"{name}\" {definition}"
        ))
        .execute(&mut *tx)
        .await?;
    }
    // Deferred checks (member.subscriber_id) must run before ALTER TABLE.
    sqlx::raw_sql("SET CONSTRAINTS ALL IMMEDIATE")
        .execute(&mut *tx)
        .await?;
    sqlx::raw_sql(&toggle_triggers(true))
        .execute(&mut *tx)
        .await?;
    sqlx::query("SELECT claimdesk.audit_append('seed', 'database', NULL, NULL, true, NULL, $1)")
        .bind(serde_json::json!({
            "seed": opts.seed, "claims": report.claims, "members": report.members,
            "providers": report.providers, "lines": report.lines, "appeals": report.appeals,
        }))
        .execute(&mut *tx)
        .await?;
    tx.commit().await?;
    sqlx::raw_sql("ANALYZE").execute(&mut *conn).await?;
    Ok(report)
}

/// The tables the seed writes; their user triggers pause during the load.
const SEEDED_TABLES: &str = "employer_group,plan,plan_benefit,member,policy,coverage_period,accumulator,\
    provider,provider_credential,credential_verification,contract,fee_schedule,claim,claim_diagnosis,\
    claim_line,claim_status_history,appeal,document,queue_entry";

fn toggle_triggers(enable: bool) -> String {
    format!(
        "DO $$ DECLARE t text; BEGIN FOREACH t IN ARRAY string_to_array('{SEEDED_TABLES}', ',') LOOP
            EXECUTE format('ALTER TABLE claimdesk.%I {} TRIGGER USER', t); END LOOP; END $$",
        if enable { "ENABLE" } else { "DISABLE" }
    )
}

struct ClaimCopies {
    claims: CopyRows,
    diagnoses: CopyRows,
    lines: CopyRows,
    history: CopyRows,
    appeals: CopyRows,
}

impl ClaimCopies {
    fn new() -> Self {
        Self {
            claims: CopyRows::new(),
            diagnoses: CopyRows::new(),
            lines: CopyRows::new(),
            history: CopyRows::new(),
            appeals: CopyRows::new(),
        }
    }
    async fn send(self, conn: &mut PgConnection) -> Result<(), sqlx::Error> {
        self.claims.send(conn, "claim", "id, claim_number, claim_type, member_id, policy_id, provider_id, place_of_service, service_from, service_to, received_at, status, priority, priority_reasons, priority_confidence, prompt_pay_due, total_billed, total_allowed, total_paid, member_responsibility, manual_review, suspected_duplicate_of, risk_type, risk_severity, restricted, pend_reason, pend_until, denial_group_code, denial_carc, denial_explanation, adjudicated_by, adjudicated_at, patient_account_number").await?;
        self.diagnoses
            .send(
                conn,
                "claim_diagnosis",
                "id, claim_id, sequence, icd10_code",
            )
            .await?;
        self.lines.send(conn, "claim_line", "id, claim_id, line_number, service_date, cpt_code, modifiers, diagnosis_pointers, units, place_of_service, billed, allowed, deductible, copay, coinsurance, paid, group_code, carc, rarc").await?;
        self.history
            .send(
                conn,
                "claim_status_history",
                "id, claim_id, from_status, to_status, changed_by, changed_at, reason, prior_rank, priority_rank, claim_received_at",
            )
            .await?;
        self.appeals.send(conn, "appeal", "id, appeal_number, claim_id, level, reason, requested_amount, status, submitted_at, due_at, decided_at, decided_by, decision_reason").await?;
        Ok(())
    }
}

/// What a duplicate needs to copy from an earlier claim.
struct RecentClaim {
    id: Uuid,
    member: usize,
    provider: usize,
    service: NaiveDate,
    lines: Vec<(String, i64)>,
    icds: Vec<&'static str>,
    pos: &'static str,
}

#[allow(clippy::too_many_arguments)]
fn generate_claim(
    g: &mut Gen,
    out: &mut ClaimCopies,
    members: &[MemberRef],
    providers: &[ProviderRef],
    fees: &HashMap<(Uuid, String), i64>,
    ncci: &[(String, String)],
    counters: &mut HashMap<NaiveDate, u32>,
    recent: &mut Vec<RecentClaim>,
    now: DateTime<Utc>,
    rules: &Rules,
    report: &mut SeedReport,
) {
    let today = now.date_naive();
    let id = g.uuid();
    // 1% exact duplicates and 1% near duplicates of a recent claim.
    let dup_roll = g.rng.gen_range(0..100);
    let source = if dup_roll < 2 && !recent.is_empty() {
        Some(g.rng.gen_range(0..recent.len()))
    } else {
        None
    };
    let status = if source.is_some() && dup_roll == 0 {
        g.pick(&["received", "denied"])
    } else {
        match g.rng.gen_range(0..100) {
            0..=29 => "received",
            30..=37 => "in_review",
            38..=44 => "pended",
            45..=74 => "approved",
            75..=80 => "partially_approved",
            81..=90 => "denied",
            91..=96 => "paid",
            97..=98 => "appealed",
            _ => "void",
        }
    };
    // Open claims arrived recently (a working queue is mostly within its
    // prompt-pay window); decided ones spread over four months.
    let open = matches!(status, "received" | "in_review" | "pended");
    let received_day = today
        - Duration::days(if open {
            g.rng.gen_range(0..35)
        } else {
            g.rng.gen_range(5..120)
        });
    let mut at_secs: u32 = g.rng.gen_range(6 * 3600..20 * 3600);
    // A claim received today arrived before the seed ran: a time after the
    // clock is scaled into the part of the day gone by (same draws).
    let gone = now.num_seconds_from_midnight();
    if received_day == today && at_secs >= gone {
        at_secs = ((u64::from(at_secs - 6 * 3600) * u64::from(gone)) / (14 * 3600)) as u32;
    }
    let received_at = Utc.from_utc_datetime(&NaiveDateTime::new(
        received_day,
        NaiveTime::from_num_seconds_from_midnight_opt(at_secs, 0).unwrap(),
    ));
    let counter = counters.entry(received_day).or_insert(0);
    *counter += 1;
    let claim_number = format!("CLM-{}-{:06}", received_day.format("%Y%m%d"), counter);

    let (member_ix, provider_ix, service, mut lines, icds, pos, dup_of) = match source {
        Some(ix) => {
            let r = &recent[ix];
            let mut lines = r.lines.clone();
            if dup_roll == 1 {
                if let Some(first) = lines.first_mut() {
                    first.1 += 1_000; // near duplicate: a different charge
                }
            }
            (
                r.member,
                r.provider,
                r.service,
                lines,
                r.icds.clone(),
                r.pos,
                Some(r.id),
            )
        }
        None => {
            let scenario = &SCENARIOS[g.rng.gen_range(0..SCENARIOS.len())];
            let member_ix = g.rng.gen_range(0..members.len());
            // Providers that fit the scenario are not modelled; any provider will do.
            let provider_ix = g.rng.gen_range(0..providers.len());
            let late = g.chance(0.03);
            let service = if late {
                received_day - Duration::days(g.rng.gen_range(366..500))
            } else {
                received_day - Duration::days(g.rng.gen_range(1..60))
            };
            let count = g.pick(&[
                1usize, 1, 1, 1, 1, 1, 1, 2, 2, 2, 2, 2, 3, 3, 3, 4, 4, 5, 5, 6, 7, 8,
            ]);
            let mut lines: Vec<(String, i64)> = (0..count)
                .map(|_| {
                    let cpt = g.pick(scenario.cpts).to_string();
                    let charge = pct(base_charge(&cpt), g.rng.gen_range(90..160));
                    (cpt, charge)
                })
                .collect();
            if g.chance(0.02) && !ncci.is_empty() {
                let (a, b) = ncci[g.rng.gen_range(0..ncci.len())].clone();
                lines.truncate(6);
                let (ca, cb) = (pct(base_charge(&a), 120), pct(base_charge(&b), 120));
                lines.push((a, ca));
                lines.push((b, cb));
            }
            let icd_count = g.rng.gen_range(1..=scenario.icds.len().min(4));
            let icds: Vec<&'static str> = scenario
                .icds
                .choose_multiple(&mut g.rng, icd_count)
                .copied()
                .collect();
            (
                member_ix,
                provider_ix,
                service,
                lines,
                icds,
                scenario.pos,
                None,
            )
        }
    };
    lines.truncate(8);
    let member = &members[member_ix];
    let provider = &providers[provider_ix];
    let billed: i64 = lines.iter().map(|l| l.1).sum();
    let due = received_day + Duration::days(member.prompt_pay_days.into());
    let risk = g.chance(0.02).then(|| {
        (
            g.pick(&["financial", "compliance", "medical", "safety"]),
            g.pick(&["low", "medium", "high", "critical"]),
        )
    });
    // The intake rules score the claim: decided claims as of the day they
    // arrived, open ones as of today (the daily rescore has seen them).
    let scored = priority::score(
        &ClaimFacts {
            cpts: lines.iter().map(|l| l.0.clone()).collect(),
            icd10: icds.iter().map(|i| i.to_string()).collect(),
            place_of_service: pos.to_string(),
            billed: Decimal::new(billed, 2),
            due,
            risk_severity: risk.map(|r| r.1.to_string()),
        },
        rules,
        if open { today } else { received_day },
    );
    let reasons = serde_json::to_string(&scored.reasons).expect("reasons serialise");
    let rank = scored.priority.rank();

    let decided = matches!(
        status,
        "approved" | "partially_approved" | "denied" | "paid" | "appealed"
    );
    // Decisions happened before the day of the seed: the team dashboard
    // reads queue depth and throughput back from the status history.
    let day_start = Utc.from_utc_datetime(&today.and_time(NaiveTime::MIN));
    let adjudicated_at = decided.then(|| {
        (received_at + Duration::hours(g.rng.gen_range(2..(24 * 20))))
            .min(day_start - Duration::hours(1))
    });
    let denial = (status == "denied" || status == "appealed").then(|| {
        if dup_of.is_some() {
            DENIALS[3]
        } else {
            g.pick(&DENIALS)
        }
    });

    // Line figures for decided claims: contract rate (or 70% out of network),
    // a simple cost share, CO-45 on the write-off. Denied lines pay nothing.
    let mut line_rows = Vec::with_capacity(lines.len());
    let (mut tot_allowed, mut tot_paid, mut tot_member) = (0i64, 0i64, 0i64);
    for (i, (cpt, charge)) in lines.iter().enumerate() {
        let deny_line =
            denial.is_some() || (status == "partially_approved" && i > 0 && g.chance(0.5));
        let figures = if !decided || status == "void" {
            None
        } else if deny_line {
            Some((0, 0, 0, 0, 0))
        } else {
            let contract = if provider.in_network {
                fees.get(&(provider.id, cpt.clone())).copied()
            } else {
                None
            };
            let allowed = contract.unwrap_or_else(|| pct(*charge, 70)).min(*charge);
            let copay = if cpt.starts_with("992") {
                allowed.min(2_500)
            } else {
                0
            };
            let deductible = if g.chance(0.3) {
                (allowed - copay).min(g.rng.gen_range(0..20_000))
            } else {
                0
            };
            let coinsurance = pct(allowed - copay - deductible, 20);
            let paid = allowed - copay - deductible - coinsurance;
            Some((allowed, deductible, copay, coinsurance, paid))
        };
        if let Some((allowed, deductible, copay, coinsurance, paid)) = figures {
            tot_allowed += allowed;
            tot_paid += paid;
            tot_member += deductible + copay + coinsurance;
        }
        line_rows.push((cpt.clone(), *charge, figures, deny_line));
    }

    let c = &mut out.claims;
    c.val(id)
        .text(&claim_number)
        .text(if pos == "21" {
            "institutional"
        } else {
            "professional"
        })
        .val(member.id)
        .val(member.policy)
        .val(provider.id)
        .text(pos)
        .val(service)
        .val(service)
        .val(received_at.to_rfc3339())
        .text(status)
        .text(scored.priority.as_str())
        .text(&reasons)
        .val(scored.confidence)
        .val(due)
        .money(billed);
    if decided {
        c.money(tot_allowed).money(tot_paid).money(tot_member);
    } else {
        c.null().null().null();
    }
    c.val(g.chance(0.05))
        .opt(dup_of)
        .opt(risk.map(|r| r.0))
        .opt(risk.map(|r| r.1))
        .val(member.restricted);
    if status == "pended" {
        let reason = g.pick(&[
            "records",
            "cob",
            "prior_auth",
            "provider_info",
            "medical_review",
        ]);
        // Pends still running: the housekeeping would have returned any
        // whose pend had ended (migration 0021).
        c.text(reason)
            .val((received_day + Duration::days(14)).max(today + Duration::days(1)));
    } else {
        c.null().null();
    }
    match denial {
        Some((group, carc, why)) => c.text(group).text(carc).text(why),
        None => c.null().null().null(),
    };
    let adjudicator = adjudicated_at.map(|at| {
        let who = format!("seed_adjudicator_{}", g.rng.gen_range(1..=12));
        c.text(&who).val(at.to_rfc3339());
        who
    });
    if adjudicator.is_none() {
        c.null().null();
    }
    c.text(&format!("PA{}", g.digits(8)));
    c.end();

    for (seq, icd) in icds.iter().enumerate() {
        out.diagnoses.val(g.uuid()).val(id).val(seq + 1).text(icd);
        out.diagnoses.end();
    }
    for (i, (cpt, charge, figures, deny_line)) in line_rows.iter().enumerate() {
        let pointer = (i % icds.len()) + 1;
        let l = &mut out.lines;
        l.val(g.uuid())
            .val(id)
            .val(i + 1)
            .val(service)
            .text(cpt)
            .text("{}")
            .text(&format!("{{{pointer}}}"))
            .val(1)
            .text(pos)
            .money(*charge);
        match figures {
            Some((allowed, deductible, copay, coinsurance, paid)) => {
                l.money(*allowed)
                    .money(*deductible)
                    .money(*copay)
                    .money(*coinsurance)
                    .money(*paid);
                match (deny_line, denial) {
                    (true, Some((group, carc, _))) => l.text(group).text(carc).text("{N130}"),
                    (true, None) => l.text("CO").text("97").text("{M15}"),
                    (false, _) if allowed < charge => l.text("CO").text("45").text("{}"),
                    _ => l.null().null().text("{}"),
                };
            }
            None => {
                l.null()
                    .null()
                    .null()
                    .null()
                    .null()
                    .null()
                    .null()
                    .text("{}");
            }
        }
        l.end();
        report.lines += 1;
    }

    // One change of this claim's status; its priority stays the one it
    // was scored with on arrival.
    let history = |out: &mut ClaimCopies,
                   row: Uuid,
                   from: Option<&str>,
                   to: &str,
                   by: &str,
                   at: chrono::DateTime<Utc>| {
        let h = &mut out.history;
        h.val(row).val(id);
        match from {
            Some(from) => h.text(from),
            None => h.null(),
        };
        h.text(to).text(by).val(at.to_rfc3339()).null();
        match from {
            Some(_) => h.val(rank),
            None => h.null(),
        };
        h.val(rank).val(received_at.to_rfc3339());
        h.end();
    };
    history(out, g.uuid(), None, "received", "intake", received_at);
    // Pends and voids are in the history too, so that replaying it gives
    // each claim's status at any moment (no extra draws: the rest of the
    // seed stays as it was).
    if matches!(status, "pended" | "void") {
        let by = if status == "void" {
            "intake".to_string()
        } else {
            format!("seed_adjudicator_{}", id.as_bytes()[0] % 12 + 1)
        };
        history(
            out,
            g.uuid(),
            Some("received"),
            status,
            &by,
            (received_at + Duration::hours(6)).min(now),
        );
    }
    if let (Some(at), Some(who)) = (adjudicated_at, &adjudicator) {
        let to = if status == "appealed" {
            "denied"
        } else {
            status
        };
        history(out, g.uuid(), Some("in_review"), to, who, at);
        if status == "appealed" || (status == "denied" && g.chance(0.2)) {
            let submitted = (at + Duration::days(g.rng.gen_range(3..40)))
                .min((day_start - Duration::minutes(30)).max(at));
            let (astatus, decided_at) = if status == "appealed" {
                (g.pick(&["submitted", "under_review"]), None)
            } else {
                (
                    g.pick(&["upheld", "overturned", "partially_overturned", "withdrawn"]),
                    Some(submitted + Duration::days(g.rng.gen_range(5..30))),
                )
            };
            let a = &mut out.appeals;
            a.val(g.uuid())
                .text(&format!("APL-{}", &claim_number[4..]))
                .val(id)
                .text("first")
                .text("Provider disputes the denial and attaches records.")
                .money(billed)
                .text(astatus)
                .val(submitted.to_rfc3339())
                .val((submitted + Duration::days(30)).to_rfc3339());
            match decided_at {
                Some(d) if astatus != "withdrawn" => a
                    .val(d.to_rfc3339())
                    .text("seed_supervisor")
                    .text("Reviewed the records against the plan."),
                _ => a.null().null().null(),
            };
            a.end();
            report.appeals += 1;
            if status == "appealed" {
                history(
                    out,
                    g.uuid(),
                    Some("denied"),
                    "appealed",
                    "intake",
                    submitted,
                );
            }
        }
    }

    if source.is_none() {
        let rc = RecentClaim {
            id,
            member: member_ix,
            provider: provider_ix,
            service,
            lines: lines.clone(),
            icds,
            pos,
        };
        if recent.len() < 2_000 {
            recent.push(rc);
        } else {
            let slot = g.rng.gen_range(0..recent.len());
            recent[slot] = rc;
        }
    }
}

/// What a claim's documents show, read back from the rows just written.
#[derive(sqlx::FromRow)]
struct DocClaim {
    id: Uuid,
    claim_number: String,
    claim_type: String,
    status: String,
    service_from: NaiveDate,
    received_at: chrono::DateTime<Utc>,
    total_billed: String,
    total_paid: Option<String>,
    denial_carc: Option<String>,
    denial_explanation: Option<String>,
    member_number: String,
    first_name: String,
    last_name: String,
    date_of_birth: NaiveDate,
    address: String,
    npi: String,
    provider_name: String,
    diagnoses: String,
    /// line_number|cpt|billed|paid per line, ';'-separated.
    lines: String,
}

/// Attaches real files to the first `wanted` claims (in id order, so the
/// choice is as deterministic as the rest): a two-page claim form PDF for
/// each, an EOB PDF for decided ones, a three-page faxed record TIFF for
/// every tenth and an ID-card JPEG for every seventh.
async fn seed_documents(
    conn: &mut PgConnection,
    g: &mut Gen,
    wanted: i64,
    now: DateTime<Utc>,
) -> Result<u64, sqlx::Error> {
    use sha2::{Digest, Sha256};

    use crate::sample_docs::{self, Page, SampleDoc};

    let claims: Vec<DocClaim> = sqlx::query_as(
        "SELECT c.id, c.claim_number, c.claim_type, c.status, c.service_from, c.received_at,
                c.total_billed::text AS total_billed, c.total_paid::text AS total_paid, c.denial_carc,
                c.denial_explanation, m.member_number, m.first_name, m.last_name, m.date_of_birth,
                concat_ws(', ', m.address_line1, m.city, m.state || ' ' || m.postal_code) AS address,
                p.npi, coalesce(p.organization_name, p.first_name || ' ' || p.last_name) AS provider_name,
                (SELECT string_agg(icd10_code, ' ' ORDER BY sequence) FROM claimdesk.claim_diagnosis d
                  WHERE d.claim_id = c.id) AS diagnoses,
                (SELECT string_agg(concat_ws('|', line_number, cpt_code, billed, coalesce(paid::text, '')), ';'
                  ORDER BY line_number) FROM claimdesk.claim_line l WHERE l.claim_id = c.id) AS lines
         FROM claimdesk.claim c JOIN claimdesk.member m ON m.id = c.member_id
         JOIN claimdesk.provider p ON p.id = c.provider_id
         ORDER BY c.id LIMIT $1",
    )
    .bind(wanted)
    .fetch_all(&mut *conn)
    .await?;

    let mut contents = CopyRows::new();
    let mut documents = CopyRows::new();
    let mut count = 0u64;
    // Content is stored once per hash, however many claims carry the file.
    let mut stored = std::collections::HashSet::new();
    for (i, c) in claims.iter().enumerate() {
        let lines: Vec<Vec<&str>> = c.lines.split(';').map(|l| l.split('|').collect()).collect();
        let mut files: Vec<(&str, String, SampleDoc, &str)> = Vec::new();

        // The claim form: page 1 the form, page 2 the continuation/attachment.
        let ub = c.claim_type == "institutional";
        let mut form = Page::default();
        form.text(
            36.0,
            750.0,
            14.0,
            true,
            if ub {
                "UB-04 STYLE INSTITUTIONAL CLAIM (SYNTHETIC)"
            } else {
                "HEALTH INSURANCE CLAIM FORM 1500 (SYNTHETIC)"
            },
        )
        .text(
            36.0,
            732.0,
            8.0,
            false,
            format!(
                "Claim {}  received {}",
                c.claim_number,
                c.received_at.format("%Y-%m-%d")
            ),
        )
        .rect(36.0, 640.0, 540.0, 80.0)
        .text(42.0, 706.0, 8.0, true, "1a. INSURED'S ID NUMBER")
        .text(42.0, 694.0, 10.0, false, c.member_number.clone())
        .text(300.0, 706.0, 8.0, true, "2. PATIENT'S NAME")
        .text(
            300.0,
            694.0,
            10.0,
            false,
            format!("{}, {}", c.last_name, c.first_name),
        )
        .text(42.0, 676.0, 8.0, true, "3. PATIENT'S BIRTH DATE")
        .text(
            42.0,
            664.0,
            10.0,
            false,
            c.date_of_birth.format("%m/%d/%Y").to_string(),
        )
        .text(300.0, 676.0, 8.0, true, "5. PATIENT'S ADDRESS")
        .text(300.0, 664.0, 10.0, false, c.address.clone())
        .rect(36.0, 590.0, 540.0, 40.0)
        .text(42.0, 616.0, 8.0, true, "21. DIAGNOSIS (ICD-10)")
        .text(42.0, 602.0, 10.0, false, c.diagnoses.clone())
        .rect(36.0, 330.0, 540.0, 250.0)
        .text(
            42.0,
            566.0,
            8.0,
            true,
            "24. DATE OF SERVICE     CPT/HCPCS     CHARGES",
        )
        .text(36.0, 120.0, 8.0, true, "33. BILLING PROVIDER")
        .text(
            36.0,
            106.0,
            10.0,
            false,
            format!("{}  NPI {}", c.provider_name, c.npi),
        )
        .text(36.0, 150.0, 8.0, true, "28. TOTAL CHARGE")
        .text(36.0, 136.0, 10.0, false, format!("${}", c.total_billed));
        for (k, l) in lines.iter().take(6).enumerate() {
            form.text(
                42.0,
                548.0 - 20.0 * k as f32,
                10.0,
                false,
                format!(
                    "{}   {}   {}   ${}",
                    l[0],
                    c.service_from.format("%m/%d/%Y"),
                    l[1],
                    l[2]
                ),
            );
        }
        let mut cont = Page::default();
        cont.text(
            36.0,
            750.0,
            12.0,
            true,
            format!("Continuation and attachments - claim {}", c.claim_number),
        )
        .text(
            36.0,
            730.0,
            10.0,
            false,
            format!(
                "Patient {} {}, member {}",
                c.first_name, c.last_name, c.member_number
            ),
        );
        for (k, l) in lines.iter().skip(6).enumerate() {
            cont.text(
                42.0,
                700.0 - 20.0 * k as f32,
                10.0,
                false,
                format!("Line {}   {}   ${}", l[0], l[1], l[2]),
            );
        }
        cont.text(
            36.0,
            560.0,
            10.0,
            false,
            "Provider attests the services were rendered as billed.",
        );
        files.push((
            if ub { "ub04" } else { "cms1500" },
            format!(
                "{}-{}.pdf",
                if ub { "ub04" } else { "cms1500" },
                c.claim_number
            ),
            sample_docs::pdf(&[form, cont]),
            "99.50",
        ));

        if c.total_paid.is_some() {
            let mut eob = Page::default();
            eob.text(
                36.0,
                750.0,
                14.0,
                true,
                "EXPLANATION OF BENEFITS (SYNTHETIC)",
            )
            .text(
                36.0,
                730.0,
                10.0,
                false,
                format!("Claim {}  status {}", c.claim_number, c.status),
            )
            .text(
                36.0,
                714.0,
                10.0,
                false,
                format!(
                    "Member {} {} ({})",
                    c.first_name, c.last_name, c.member_number
                ),
            )
            .text(
                36.0,
                698.0,
                10.0,
                false,
                format!("Provider {}  NPI {}", c.provider_name, c.npi),
            )
            .rect(36.0, 500.0, 540.0, 180.0);
            for (k, l) in lines.iter().enumerate() {
                let paid = l
                    .get(3)
                    .copied()
                    .filter(|p| !p.is_empty())
                    .unwrap_or("0.00");
                eob.text(
                    42.0,
                    660.0 - 18.0 * k as f32,
                    10.0,
                    false,
                    format!("Line {}  {}  billed ${}  paid ${}", l[0], l[1], l[2], paid),
                );
            }
            eob.text(
                36.0,
                470.0,
                10.0,
                true,
                format!(
                    "Total billed ${}   plan paid ${}",
                    c.total_billed,
                    c.total_paid.as_deref().unwrap_or("0.00")
                ),
            );
            if let (Some(carc), Some(why)) = (&c.denial_carc, &c.denial_explanation) {
                eob.text(36.0, 450.0, 10.0, false, format!("Reason {carc}: {why}"));
            }
            files.push((
                "eob",
                format!("eob-{}.pdf", c.claim_number),
                sample_docs::pdf(&[eob]),
                "99.50",
            ));
        }
        if i % 10 == 0 {
            let pages = vec![
                vec![
                    format!("MEDICAL RECORD - {}", c.claim_number),
                    format!("PATIENT: {} {}", c.first_name, c.last_name),
                    format!("DOB: {}", c.date_of_birth.format("%m/%d/%Y")),
                    format!("DX: {}", c.diagnoses),
                    "HISTORY OF PRESENT ILLNESS".into(),
                ],
                vec![
                    "PROGRESS NOTE".into(),
                    format!("DATE OF SERVICE {}", c.service_from.format("%m/%d/%Y")),
                    "ASSESSMENT AND PLAN".into(),
                    "FOLLOW UP IN 2 WEEKS".into(),
                ],
                vec![
                    "ORDERS AND RESULTS".into(),
                    format!("PROVIDER NPI {}", c.npi),
                    "SIGNED ELECTRONICALLY".into(),
                ],
            ];
            files.push((
                "medical_record",
                format!("record-{}.tif", c.claim_number),
                sample_docs::tiff(&pages),
                "87.20",
            ));
        }
        if i % 7 == 0 {
            let card = vec![
                format!("{} {}", c.first_name, c.last_name),
                format!("ID {}", c.member_number),
                format!("DOB {}", c.date_of_birth.format("%m/%d/%Y")),
            ];
            files.push((
                "other",
                format!("id-card-{}.jpg", c.claim_number),
                sample_docs::jpeg(&card),
                "91.00",
            ));
        }

        for (kind, name, doc, confidence) in files {
            let hash = Sha256::digest(&doc.bytes);
            if stored.insert(hash) {
                contents.bytea(&hash).bytea(&doc.bytes);
                contents.end();
            }
            documents
                .val(g.uuid())
                .val(c.id)
                .text(kind)
                .text(&name)
                .text(doc.mime)
                .val(doc.bytes.len())
                .bytea(&hash)
                .val(doc.pages)
                .text(&doc.text)
                .text(confidence)
                .text("intake")
                .val((c.received_at + Duration::minutes(5)).min(now).to_rfc3339());
            documents.end();
            count += 1;
        }
    }
    contents
        .send(conn, "document_content", "sha256, content")
        .await?;
    documents.send(conn, "document", "id, claim_id, document_type, file_name, mime_type, size_bytes, sha256, page_count, ocr_text, ocr_confidence, uploaded_by, uploaded_at").await?;
    Ok(count)
}
