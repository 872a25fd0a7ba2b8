//! The payer's front door: an X12 837 file into central, answered with a
//! TA1/999 per interchange and a 277CA per accepted claim set.
//!
//! The file is read on a blocking thread (the parser streams it); each
//! transaction set reaches the writer as soon as its SE is read and is
//! written in one transaction: its claims with lines, diagnoses, status
//! history and priority, and its part of the answers. A rejected set writes
//! only its 999 loop. Interchanges are kept once per sender and control
//! number, so a file sent twice creates nothing; a run killed mid-file is
//! resumed by the next run of the same file after the last set written.

use std::collections::{HashMap, HashSet};
use std::io::Read;
use std::path::Path;

use chrono::{DateTime, Datelike, NaiveDate, Utc};
use rust_decimal::Decimal;
use sha2::{Digest, Sha256};
use sqlx::{PgPool, Postgres, Transaction};
use uuid::Uuid;

use crate::priority::{self, ClaimFacts, Rules};
use crate::x12::ack::{
    self, ClaimAck, ClaimOutcome, GroupLoops, Payer, Rejection, SetAck, SetClaims,
};
use crate::x12::model::{Claim837, ClaimKind};
use crate::x12::parse::{self, Event, Group, Interchange, TransactionSet};
use crate::x12::reader::ReadError;

/// Why intake stopped. Each variant has a stable code.
#[derive(Debug, thiserror::Error)]
pub enum IntakeError {
    /// The file could not be opened or read.
    #[error("the file could not be read: {0}")]
    File(#[from] std::io::Error),
    /// Central refused or went away; what was committed stands.
    #[error("central database: {0}")]
    Database(#[from] sqlx::Error),
}

impl IntakeError {
    /// Stable code for scripts and the app.
    pub fn code(&self) -> &'static str {
        match self {
            Self::File(_) => "intake_file",
            Self::Database(_) => "intake_database",
        }
    }
}

/// What became of one interchange.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum InterchangeOutcome {
    /// Read and answered (its sets may still have been rejected).
    Imported,
    /// Resumed after an interrupted run.
    Resumed,
    /// Sent before: nothing new was created.
    Duplicate {
        /// File name of the batch that first brought it.
        first_file: String,
        /// When.
        first_received: DateTime<Utc>,
    },
    /// Its ISA was faulty: TA1 R with this note code.
    Rejected {
        /// X12 I18 code.
        ta1: &'static str,
    },
}

/// One interchange's account.
#[derive(Debug, Clone)]
pub struct InterchangeReport {
    /// ISA06.
    pub sender: String,
    /// ISA13.
    pub control: String,
    /// What happened.
    pub outcome: InterchangeOutcome,
}

/// What intake did with a file.
#[derive(Debug, Clone)]
pub struct IntakeReport {
    /// The batch row (None when the file was already imported whole).
    pub batch_id: Option<Uuid>,
    /// The file had been imported before, byte for byte.
    pub already_imported: Option<(Uuid, DateTime<Utc>)>,
    /// Each interchange.
    pub interchanges: Vec<InterchangeReport>,
    /// Transaction sets read.
    pub sets_received: u32,
    /// Sets the 999 accepted.
    pub sets_accepted: u32,
    /// Claims taken into the queue.
    pub claims_accepted: u32,
    /// Claims the 277CA rejected.
    pub claims_rejected: u32,
    /// Σ charges of claims taken.
    pub amount_accepted: Decimal,
    /// The answers, in order: (kind, text).
    pub acks: Vec<(String, String)>,
    /// Why the file could not be read to its end, if it could not.
    pub problem: Option<String>,
}

/// Intake's settings.
#[derive(Debug, Clone)]
pub struct IntakeOptions {
    /// Who we are in our answers.
    pub payer: Payer,
    /// The clock: received time of the batch and "today" for priority.
    pub now: DateTime<Utc>,
}

impl Default for IntakeOptions {
    fn default() -> Self {
        Self {
            payer: Payer {
                id: "CLAIMDESK".into(),
                name: "CLAIMDESK HEALTH PLAN".into(),
            },
            now: Utc::now(),
        }
    }
}

/// What intake looks up once per run.
struct Reference {
    cpt: HashSet<String>,
    icd10: HashSet<String>,
    places: HashSet<String>,
    rules: Rules,
    prompt_days: HashMap<Uuid, i64>,
}

impl Reference {
    async fn load(pool: &PgPool) -> Result<Self, sqlx::Error> {
        let mut conn = pool.acquire().await?;
        let cpt = sqlx::query_scalar("SELECT code FROM claimdesk.cpt_code")
            .fetch_all(&mut *conn)
            .await?;
        let icd10 = sqlx::query_scalar("SELECT code FROM claimdesk.icd10_code")
            .fetch_all(&mut *conn)
            .await?;
        let places = sqlx::query_scalar("SELECT code FROM claimdesk.place_of_service")
            .fetch_all(&mut *conn)
            .await?;
        let rules = priority::rules_from_reference(&mut conn).await?;
        let days: Vec<(Uuid, i32)> = sqlx::query_as(
            "SELECT pl.id, coalesce(r.days, 30) FROM claimdesk.plan pl
             LEFT JOIN claimdesk.prompt_pay_rule r ON r.line_of_business = pl.line_of_business",
        )
        .fetch_all(&mut *conn)
        .await?;
        Ok(Self {
            cpt: cpt.into_iter().collect(),
            icd10: icd10.into_iter().collect(),
            places: places.into_iter().collect(),
            rules,
            prompt_days: days.into_iter().map(|(p, d)| (p, i64::from(d))).collect(),
        })
    }
}

/// ICD-10-CM as the 837 sends it (no dot) to our spelling (dot after three).
pub fn icd10_dotted(code: &str) -> String {
    if code.len() > 3 {
        format!("{}.{}", &code[..3], &code[3..])
    } else {
        code.to_string()
    }
}

/// The NPI check digit (Luhn over 80840 and the first nine digits).
pub fn npi_valid(npi: &str) -> bool {
    let b = npi.as_bytes();
    if b.len() != 10 || !b.iter().all(u8::is_ascii_digit) {
        return false;
    }
    let payload: Vec<u32> = b"80840"
        .iter()
        .chain(&b[..9])
        .map(|d| u32::from(d - b'0'))
        .collect();
    let sum: u32 = payload
        .iter()
        .rev()
        .enumerate()
        .map(|(i, &d)| {
            if i % 2 == 0 {
                let x = d * 2;
                if x > 9 {
                    x - 9
                } else {
                    x
                }
            } else {
                d
            }
        })
        .sum();
    (10 - sum % 10) % 10 == u32::from(b[9] - b'0')
}

fn reject(
    category: &'static str,
    code: &'static str,
    entity: Option<&'static str>,
    reason: &'static str,
    words: String,
) -> Rejection {
    Rejection {
        category,
        code,
        entity,
        reason,
        words,
    }
}

/// Reads `path` into central. `pool` needs two connections at least (a
/// set's transaction and its claim numbers); with three or more, two sets
/// are written at once.
pub async fn intake_file(
    pool: &PgPool,
    path: &Path,
    options: &IntakeOptions,
    progress: impl Fn(u64, u64) + Send + Sync + 'static,
) -> Result<IntakeReport, IntakeError> {
    let (sha, size) = hash_file(path)?;
    let name = path
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default();
    let mut report = IntakeReport {
        batch_id: None,
        already_imported: None,
        interchanges: vec![],
        sets_received: 0,
        sets_accepted: 0,
        claims_accepted: 0,
        claims_rejected: 0,
        amount_accepted: Decimal::ZERO,
        acks: vec![],
        problem: None,
    };
    let earlier: Option<(Uuid, String, DateTime<Utc>)> = sqlx::query_as(
        "SELECT id, status, received_at FROM claimdesk.intake_batch WHERE file_sha256 = $1
         ORDER BY (status = 'receiving') DESC, received_at LIMIT 1",
    )
    .bind(&sha[..])
    .fetch_optional(pool)
    .await?;
    let batch_id = match earlier {
        Some((id, status, at)) if status != "receiving" => {
            report.already_imported = Some((id, at));
            return Ok(report);
        }
        Some((id, _, _)) => id,
        None => {
            let id = Uuid::new_v4();
            sqlx::query(
                "INSERT INTO claimdesk.intake_batch (id, file_name, file_sha256, file_bytes, received_at)
                 VALUES ($1, $2, $3, $4, $5)",
            )
            .bind(id)
            .bind(&name)
            .bind(&sha[..])
            .bind(size as i64)
            .bind(options.now)
            .execute(pool)
            .await?;
            id
        }
    };
    report.batch_id = Some(batch_id);
    let reference = Reference::load(pool).await?;

    // The parser on its own thread; sets come over a short channel so a fast
    // reader never holds more than a few sets in memory.
    // Each event comes with how far into the file the reader was.
    let (tx, mut rx) = tokio::sync::mpsc::channel::<Result<(Event, u64), String>>(4);
    let file = std::fs::File::open(path)?;
    let progress = std::sync::Arc::new(progress);
    let reader_progress = progress.clone();
    let position = std::sync::Arc::new(std::sync::atomic::AtomicU64::new(0));
    let reader_position = position.clone();
    let reader = tokio::task::spawn_blocking(move || {
        let sink_tx = tx.clone();
        let result = parse::read::<_, ReadError>(
            std::io::BufReader::with_capacity(1 << 20, file),
            |e| {
                let at = position.load(std::sync::atomic::Ordering::Relaxed);
                // A closed channel means the writer stopped: stop reading.
                let _ = sink_tx.blocking_send(Ok((e, at)));
                Ok(())
            },
            |at| {
                reader_position.store(at, std::sync::atomic::Ordering::Relaxed);
                reader_progress(at, size)
            },
        );
        if let Err(e) = result {
            let _ = tx.blocking_send(Err(e.to_string()));
        }
    });

    let mut w = Writer {
        pool,
        options,
        reference: &reference,
        batch_id,
        interchange: None,
        report: &mut report,
        ordinal: 0,
        // Each set holds a connection to its commit; claim numbers take another.
        in_flight: (pool.options().get_max_connections() as usize)
            .saturating_sub(1)
            .clamp(1, IN_FLIGHT),
        pending: futures_util::stream::FuturesOrdered::new(),
        pending_277: 0,
        seen_in_file: HashSet::new(),
    };
    let mut last_saved = 0u64;
    while let Some(event) = rx.recv().await {
        let mut at = None;
        match event {
            Ok((e, bytes)) => {
                at = Some(bytes);
                w.event(e).await?
            }
            Err(problem) => {
                w.report.problem = Some(problem);
            }
        }
        let read = w.report.sets_received as u64;
        if read != last_saved {
            last_saved = read;
            // For the supervisor's progress bar.
            sqlx::query(
                "UPDATE claimdesk.intake_batch SET sets_received = $2, bytes_read = greatest(bytes_read, $3)
                 WHERE id = $1",
            )
            .bind(batch_id)
            .bind(read as i32)
            .bind(at.unwrap_or(0) as i64)
            .execute(pool)
            .await?;
        }
    }
    // A file that ends inside an interchange still has its sets written.
    w.settle(0).await?;
    drop(w);
    let _ = reader.await;
    progress(size, size);
    let status = if report.interchanges.is_empty() {
        "rejected"
    } else {
        "complete"
    };
    sqlx::query(
        "UPDATE claimdesk.intake_batch SET status = $2, problem = $3, completed_at = $4, bytes_read = file_bytes,
             sets_received = (SELECT count(*) FROM claimdesk.intake_set s JOIN claimdesk.intake_interchange i
                              ON i.id = s.interchange_id WHERE i.batch_id = $1),
             sets_accepted = (SELECT count(*) FILTER (WHERE s.accepted) FROM claimdesk.intake_set s
                              JOIN claimdesk.intake_interchange i ON i.id = s.interchange_id WHERE i.batch_id = $1),
             claims_accepted = (SELECT coalesce(sum(s.claims_accepted), 0) FROM claimdesk.intake_set s
                                JOIN claimdesk.intake_interchange i ON i.id = s.interchange_id WHERE i.batch_id = $1),
             claims_rejected = (SELECT coalesce(sum(s.claims_rejected), 0) FROM claimdesk.intake_set s
                                JOIN claimdesk.intake_interchange i ON i.id = s.interchange_id WHERE i.batch_id = $1),
             amount_accepted = (SELECT coalesce(sum(s.amount_accepted), 0) FROM claimdesk.intake_set s
                                JOIN claimdesk.intake_interchange i ON i.id = s.interchange_id WHERE i.batch_id = $1)
         WHERE id = $1",
    )
    .bind(batch_id)
    .bind(status)
    .bind(&report.problem)
    .bind(options.now)
    .execute(pool)
    .await?;
    Ok(report)
}

fn hash_file(path: &Path) -> std::io::Result<([u8; 32], u64)> {
    let mut f = std::fs::File::open(path)?;
    let mut h = Sha256::new();
    let mut buf = vec![0u8; 1 << 20];
    let mut n = 0u64;
    loop {
        let k = f.read(&mut buf)?;
        if k == 0 {
            break;
        }
        n += k as u64;
        h.update(&buf[..k]);
    }
    Ok((h.finalize().into(), n))
}

/// The interchange being read.
struct Open {
    header: Interchange,
    id: Option<Uuid>,
    /// Sets already written by an earlier run: (group, set) → (999 loop,
    /// accepted, 277 body).
    done: HashMap<(i32, i32), (String, bool, Option<String>)>,
    skip: bool,
    resumed: bool,
    groups: Vec<GroupLoops>,
    sets_277: Vec<String>,
    group_ordinal: i32,
    set_ordinal: i32,
}

struct Writer<'a> {
    pool: &'a PgPool,
    options: &'a IntakeOptions,
    reference: &'a Reference,
    batch_id: Uuid,
    interchange: Option<Open>,
    report: &'a mut IntakeReport,
    ordinal: i32,
    /// How many sets may be written at once.
    in_flight: usize,
    /// Sets being written, oldest first.
    pending: futures_util::stream::FuturesOrdered<SetWrite<'a>>,
    /// Of `pending`, those that will answer with a 277CA set.
    pending_277: usize,
    /// (billing NPI, CLM01, first date, charge) of the file's originals.
    seen_in_file: HashSet<(String, String, Option<NaiveDate>, Decimal)>,
}

impl Writer<'_> {
    async fn event(&mut self, e: Event) -> Result<(), IntakeError> {
        if !matches!(e, Event::Set(_)) {
            // Groups and interchanges close over their sets' answers.
            self.settle(0).await?;
        }
        match e {
            Event::Interchange(i) => self.begin(i).await,
            Event::Group(g) => {
                if let Some(o) = self.interchange.as_mut() {
                    o.group_ordinal += 1;
                    o.set_ordinal = 0;
                    o.groups.push(GroupLoops {
                        group: g,
                        sets: vec![],
                        declared: None,
                        errors: vec![],
                    });
                }
                Ok(())
            }
            Event::Set(s) => self.set(s).await,
            Event::GroupEnd { declared, errors } => {
                if let Some(g) = self.interchange.as_mut().and_then(|o| o.groups.last_mut()) {
                    g.declared = declared;
                    g.errors = errors;
                }
                Ok(())
            }
            Event::InterchangeEnd { errors } => self.end(errors).await,
        }
    }

    async fn begin(&mut self, header: Interchange) -> Result<(), IntakeError> {
        self.ordinal += 1;
        let mut open = Open {
            header,
            id: None,
            done: HashMap::new(),
            skip: false,
            resumed: false,
            groups: vec![],
            sets_277: vec![],
            group_ordinal: 0,
            set_ordinal: 0,
        };
        let h = &open.header;
        if let Some(code) = h.header_errors.first() {
            open.skip = true;
            self.report.interchanges.push(InterchangeReport {
                sender: h.sender_id.clone(),
                control: h.control.clone(),
                outcome: InterchangeOutcome::Rejected { ta1: code },
            });
            self.interchange = Some(open);
            return Ok(());
        }
        let existing: Option<(Uuid, Uuid, String, String, DateTime<Utc>)> = sqlx::query_as(
            "SELECT i.id, i.batch_id, i.status, b.file_name, b.received_at
             FROM claimdesk.intake_interchange i JOIN claimdesk.intake_batch b ON b.id = i.batch_id
             WHERE i.sender_qualifier = $1 AND i.sender_id = $2 AND i.control_number = $3",
        )
        .bind(&h.sender_qualifier)
        .bind(&h.sender_id)
        .bind(&h.control)
        .fetch_optional(self.pool)
        .await?;
        match existing {
            Some((id, batch, status, _, _)) if batch == self.batch_id && status == "receiving" => {
                // An earlier run of this file stopped inside this interchange.
                let rows: Vec<(i32, i32, String, bool, Option<String>)> = sqlx::query_as(
                    "SELECT group_ordinal, set_ordinal, ack_999, accepted, ack_277 FROM claimdesk.intake_set
                     WHERE interchange_id = $1",
                )
                .bind(id)
                .fetch_all(self.pool)
                .await?;
                open.done = rows
                    .into_iter()
                    .map(|(g, s, a, ok, b)| ((g, s), (a, ok, b)))
                    .collect();
                open.id = Some(id);
                open.resumed = true;
            }
            Some((_, batch, _, file, at)) => {
                open.skip = true;
                let outcome = if batch == self.batch_id {
                    // Twice in one file: the second is the duplicate.
                    InterchangeOutcome::Duplicate {
                        first_file: file,
                        first_received: at,
                    }
                } else {
                    InterchangeOutcome::Duplicate {
                        first_file: file,
                        first_received: at,
                    }
                };
                self.report.interchanges.push(InterchangeReport {
                    sender: h.sender_id.clone(),
                    control: h.control.clone(),
                    outcome,
                });
            }
            None => {
                let id = Uuid::new_v4();
                sqlx::query(
                    "INSERT INTO claimdesk.intake_interchange
                       (id, batch_id, ordinal, sender_qualifier, sender_id, control_number, usage)
                     VALUES ($1, $2, $3, $4, $5, $6, $7)",
                )
                .bind(id)
                .bind(self.batch_id)
                .bind(self.ordinal)
                .bind(&h.sender_qualifier)
                .bind(&h.sender_id)
                .bind(&h.control)
                .bind(&h.usage)
                .execute(self.pool)
                .await?;
                open.id = Some(id);
            }
        }
        self.interchange = Some(open);
        Ok(())
    }

    async fn set(&mut self, set: TransactionSet) -> Result<(), IntakeError> {
        let Some(open) = self.interchange.as_mut() else {
            return Ok(());
        };
        if open.skip {
            return Ok(());
        }
        open.set_ordinal += 1;
        let key = (open.group_ordinal, open.set_ordinal);
        self.report.sets_received += 1;
        // A claim seen earlier in this file (any set) is its duplicate; decided
        // here, in file order, so sets written side by side agree.
        let earlier: Vec<bool> = set
            .claims
            .iter()
            .map(|c| {
                c.frequency == "1"
                    && !self.seen_in_file.insert((
                        c.billing.npi.clone().unwrap_or_default(),
                        c.patient_account.clone(),
                        c.service_span().map(|s| s.0),
                        c.total_charge,
                    ))
            })
            .collect();
        if let Some((loop_999, accepted, body)) = open.done.get(&key).cloned() {
            self.pending_277 += usize::from(body.is_some());
            let done = SetDone {
                loop_999,
                accepted,
                body,
                taken: 0,
                rejected: 0,
                amount: Decimal::ZERO,
            };
            self.pending.push_back(Box::pin(async move { Ok(done) }));
            return self.settle(self.in_flight - 1).await;
        }
        let group = open
            .groups
            .last()
            .map(|g| g.group.clone())
            .unwrap_or(Group {
                functional_id: String::new(),
                sender: String::new(),
                receiver: String::new(),
                control: String::new(),
                version: String::new(),
            });
        let job = SetJob {
            interchange_id: open
                .id
                .expect("an interchange that is not skipped has its row"),
            key,
            n_277: open.sets_277.len() + self.pending_277,
            group,
            earlier,
            set,
        };
        let set_ack = SetAck {
            id: job.set.id.clone(),
            control: job.set.control.clone(),
            version: job.set.version.clone(),
            errors: job.set.errors.clone(),
            set_errors: job.set.set_errors.clone(),
        };
        self.pending_277 += usize::from(set_ack.accepted());
        let (pool, reference, options) = (self.pool, self.reference, self.options);
        self.pending
            .push_back(Box::pin(write_set(pool, reference, options, job, set_ack)));
        self.settle(self.in_flight - 1).await
    }

    /// Takes the results of written sets, in file order, until `keep` are
    /// left in flight.
    async fn settle(&mut self, keep: usize) -> Result<(), IntakeError> {
        use futures_util::StreamExt;
        while self.pending.len() > keep {
            let Some(done) = self.pending.next().await else {
                break;
            };
            let done = done?;
            self.report.claims_accepted += done.taken;
            self.report.claims_rejected += done.rejected;
            self.report.amount_accepted += done.amount;
            if done.accepted {
                self.report.sets_accepted += 1;
            }
            self.pending_277 -= usize::from(done.body.is_some());
            let open = self
                .interchange
                .as_mut()
                .expect("sets belong to an open interchange");
            if let Some(g) = open.groups.last_mut() {
                g.sets.push((done.loop_999, done.accepted));
            }
            if let Some(b) = done.body {
                open.sets_277.push(b);
            }
        }
        Ok(())
    }

    async fn end(&mut self, trailer_errors: Vec<&'static str>) -> Result<(), IntakeError> {
        let Some(open) = self.interchange.take() else {
            return Ok(());
        };
        let now = self.options.now.naive_utc();
        let payer = &self.options.payer;
        let mut acks: Vec<(&'static str, String)> = vec![];
        if let Some(code) = open.header.header_errors.first() {
            let control = self.next_control().await?;
            acks.push((
                "TA1",
                ack::ta1_interchange(&open.header, &[], payer, control, now),
            ));
            let _ = code;
        } else if open.skip {
            // A duplicate: TA1 R 025, nothing else.
            let control = self.next_control().await?;
            let mut h = open.header.clone();
            h.header_errors = vec!["025"];
            acks.push(("TA1", ack::ta1_interchange(&h, &[], payer, control, now)));
        } else {
            let control = self.next_control().await?;
            acks.push((
                "999",
                ack::ack999(
                    &open.header,
                    &open.groups,
                    &trailer_errors,
                    payer,
                    control,
                    now,
                ),
            ));
            if !open.sets_277.is_empty() {
                let control = self.next_control().await?;
                acks.push((
                    "277CA",
                    ack::ack277ca(&open.header, &open.sets_277, payer, control, now),
                ));
            }
            self.report.interchanges.push(InterchangeReport {
                sender: open.header.sender_id.clone(),
                control: open.header.control.clone(),
                outcome: if open.resumed {
                    InterchangeOutcome::Resumed
                } else {
                    InterchangeOutcome::Imported
                },
            });
        }
        let mut tx = self.pool.begin().await?;
        if let Some(id) = open.id {
            for (kind, body) in &acks {
                let control: i64 = ack_control(body);
                sqlx::query(
                    "INSERT INTO claimdesk.intake_ack (id, batch_id, interchange_id, kind, control_number, body)
                     VALUES ($1, $2, $3, $4, $5, $6) ON CONFLICT (interchange_id, kind) DO NOTHING",
                )
                .bind(Uuid::new_v4())
                .bind(self.batch_id)
                .bind(id)
                .bind(kind)
                .bind(control as i32)
                .bind(body)
                .execute(&mut *tx)
                .await?;
            }
            sqlx::query(
                "UPDATE claimdesk.intake_interchange SET status = 'complete' WHERE id = $1",
            )
            .bind(id)
            .execute(&mut *tx)
            .await?;
        } else {
            for (kind, body) in &acks {
                sqlx::query(
                    "INSERT INTO claimdesk.intake_ack (id, batch_id, kind, control_number, body)
                     VALUES ($1, $2, $3, $4, $5)",
                )
                .bind(Uuid::new_v4())
                .bind(self.batch_id)
                .bind(kind)
                .bind(ack_control(body) as i32)
                .bind(body)
                .execute(&mut *tx)
                .await?;
            }
        }
        tx.commit().await?;
        self.report
            .acks
            .extend(acks.into_iter().map(|(k, b)| (k.to_string(), b)));
        Ok(())
    }

    async fn next_control(&self) -> Result<u32, sqlx::Error> {
        let v: i64 = sqlx::query_scalar("SELECT nextval('claimdesk.intake_ack_control_seq')")
            .fetch_one(self.pool)
            .await?;
        Ok(v as u32)
    }
}

/// Sets written side by side, each in its own transaction: one backend
/// per core is what central's writes need (the parser is ten times faster).
const IN_FLIGHT: usize = 2;

type SetWrite<'a> =
    std::pin::Pin<Box<dyn std::future::Future<Output = Result<SetDone, IntakeError>> + Send + 'a>>;

/// A transaction set to write, with what the writer knew when it was read.
struct SetJob {
    interchange_id: Uuid,
    key: (i32, i32),
    /// 277CA sets before this one in the interchange.
    n_277: usize,
    group: Group,
    /// Claims seen earlier in this file.
    earlier: Vec<bool>,
    set: TransactionSet,
}

/// A written set: its 999 loop and, if accepted, its 277CA set.
struct SetDone {
    loop_999: String,
    accepted: bool,
    body: Option<String>,
    taken: u32,
    rejected: u32,
    amount: Decimal,
}

/// Writes one transaction set in one transaction: a rejected set writes its
/// answer only; an accepted one its claims too.
async fn write_set<'a>(
    pool: &'a PgPool,
    reference: &'a Reference,
    options: &'a IntakeOptions,
    job: SetJob,
    set_ack: SetAck,
) -> Result<SetDone, IntakeError> {
    let loop_999 = ack::set_999(&set_ack);
    let accepted = set_ack.accepted();
    let set = &job.set;
    let mut tx = pool.begin().await?;
    sqlx::query("SET LOCAL application_name = 'claimdesk-intake'")
        .execute(&mut *tx)
        .await?;
    let set_id = Uuid::new_v4();
    sqlx::query(
        "INSERT INTO claimdesk.intake_set (id, interchange_id, group_ordinal, set_ordinal, group_control,
             functional_id, group_version, set_control, claim_type, accepted, ack_999)
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11)",
    )
    .bind(set_id)
    .bind(job.interchange_id)
    .bind(job.key.0)
    .bind(job.key.1)
    .bind(&job.group.control)
    .bind(&job.group.functional_id)
    .bind(&job.group.version)
    .bind(&set.control)
    .bind(set.kind.map(ClaimKind::as_str))
    .bind(accepted)
    .bind(&loop_999)
    .execute(&mut *tx)
    .await?;
    let mut done = SetDone {
        loop_999,
        accepted,
        body: None,
        taken: 0,
        rejected: 0,
        amount: Decimal::ZERO,
    };
    if accepted {
        let trace = set_id.simple().to_string()[..12].to_uppercase();
        let claims = admit(
            pool,
            &mut tx,
            reference,
            options,
            set_id,
            &set.claims,
            &job.earlier,
        )
        .await?;
        let taken: Vec<&ClaimAck> = claims
            .iter()
            .filter(|c| matches!(c.outcome, ClaimOutcome::Accepted { .. }))
            .collect();
        done.amount = taken.iter().map(|c| c.charge).sum();
        done.taken = taken.len() as u32;
        done.rejected = (claims.len() - taken.len()) as u32;
        let text = ack::set_277(
            &SetClaims {
                reference: set.reference.clone(),
                submitter: set.submitter.clone(),
                claims,
            },
            job.n_277,
            &options.payer,
            &trace,
            options.now.date_naive(),
            options.now.naive_utc(),
        );
        sqlx::query(
            "UPDATE claimdesk.intake_set SET ack_277 = $2, claims_accepted = $3, claims_rejected = $4,
                 amount_accepted = $5 WHERE id = $1",
        )
        .bind(set_id)
        .bind(&text)
        .bind(done.taken as i32)
        .bind(done.rejected as i32)
        .bind(done.amount)
        .execute(&mut *tx)
        .await?;
        done.body = Some(text);
    }
    tx.commit().await?;
    Ok(done)
}

/// ISA13 of an answer we wrote.
fn ack_control(body: &str) -> i64 {
    body.split('~')
        .next()
        .and_then(|isa| isa.split('*').nth(13))
        .and_then(|c| c.parse().ok())
        .unwrap_or(0)
}

#[derive(sqlx::FromRow)]
struct MemberRow {
    id: Uuid,
    member_number: String,
    subscriber_id: Uuid,
    last_name: String,
    date_of_birth: NaiveDate,
    restricted: bool,
}

#[derive(sqlx::FromRow)]
struct OriginalRow {
    id: Uuid,
    claim_number: String,
    member_id: Uuid,
    billing_provider_id: Option<Uuid>,
    provider_id: Uuid,
    status: String,
}

/// A claim that passed every check, ready to write.
struct Admitted<'c> {
    claim: &'c Claim837,
    id: Uuid,
    member: Uuid,
    policy: Option<Uuid>,
    provider: Uuid,
    billing: Uuid,
    restricted: bool,
    from: NaiveDate,
    to: NaiveDate,
    original: Option<Uuid>,
    suspect_of: Option<Uuid>,
    due: NaiveDate,
}

// Column vectors for UNNEST binds are tuples of Vecs by nature.
#[allow(clippy::type_complexity)]
/// Checks each claim of an accepted set against central and writes those
/// that pass, in `tx`. Returns every claim's 277CA entry in file order.
async fn admit(
    pool: &PgPool,
    tx: &mut Transaction<'_, Postgres>,
    reference: &Reference,
    options: &IntakeOptions,
    set_id: Uuid,
    claims: &[Claim837],
    earlier: &[bool],
) -> Result<Vec<ClaimAck>, sqlx::Error> {
    let today = options.now.date_naive();
    let numbers: Vec<String> = claims
        .iter()
        .map(|c| c.subscriber.member_id.expose().clone())
        .collect();
    let members: Vec<MemberRow> = sqlx::query_as(
        "SELECT id, member_number, subscriber_id, last_name, date_of_birth, restricted
         FROM claimdesk.member WHERE member_number = ANY($1)",
    )
    .bind(&numbers)
    .fetch_all(&mut **tx)
    .await?;
    let by_number: HashMap<&str, &MemberRow> = members
        .iter()
        .map(|m| (m.member_number.as_str(), m))
        .collect();
    // Dependents, for claims whose patient is not the subscriber.
    let subscribers: Vec<Uuid> = members.iter().map(|m| m.subscriber_id).collect();
    let family: Vec<MemberRow> = if claims.iter().any(|c| c.patient.is_some()) {
        sqlx::query_as(
            "SELECT id, member_number, subscriber_id, last_name, date_of_birth, restricted
             FROM claimdesk.member WHERE subscriber_id = ANY($1)",
        )
        .bind(&subscribers)
        .fetch_all(&mut **tx)
        .await?
    } else {
        vec![]
    };
    let mut npis: Vec<String> = claims
        .iter()
        .filter_map(|c| c.billing.npi.clone())
        .collect();
    npis.extend(
        claims
            .iter()
            .filter_map(|c| c.rendering.as_ref().and_then(|r| r.npi.clone())),
    );
    let providers: HashMap<String, Uuid> = sqlx::query_as::<_, (String, Uuid)>(
        "SELECT npi, id FROM claimdesk.provider WHERE npi = ANY($1)",
    )
    .bind(&npis)
    .fetch_all(&mut **tx)
    .await?
    .into_iter()
    .collect();
    let originals_wanted: Vec<String> = claims
        .iter()
        .filter_map(|c| c.original_reference.clone())
        .collect();
    let originals: HashMap<String, OriginalRow> = if originals_wanted.is_empty() {
        HashMap::new()
    } else {
        sqlx::query_as::<_, OriginalRow>(
            "SELECT id, claim_number, member_id, billing_provider_id, provider_id, status
             FROM claimdesk.claim WHERE claim_number = ANY($1) ORDER BY id FOR UPDATE",
        )
        .bind(&originals_wanted)
        .fetch_all(&mut **tx)
        .await?
        .into_iter()
        .map(|o| (o.claim_number.clone(), o))
        .collect()
    };

    // First pass: what can be decided from the file and the lookups.
    let mut outcomes: Vec<Result<Admitted<'_>, Rejection>> = Vec::with_capacity(claims.len());
    for c in claims {
        outcomes.push(check(
            c, reference, today, &by_number, &family, &providers, &originals,
        ));
    }

    // Eligibility on the first date of service, one round trip for the set.
    let (idx, mids, dates): (Vec<i32>, Vec<Uuid>, Vec<NaiveDate>) = outcomes
        .iter()
        .enumerate()
        .filter_map(|(i, o)| o.as_ref().ok().map(|a| (i as i32, a.member, a.from)))
        .fold((vec![], vec![], vec![]), |mut acc, (i, m, d)| {
            acc.0.push(i);
            acc.1.push(m);
            acc.2.push(d);
            acc
        });
    let eligibility: Vec<(i32, bool, Option<String>, Option<Uuid>, Option<Uuid>)> = sqlx::query_as(
        "SELECT t.i, e.is_eligible, e.reason, e.policy_id, e.plan_id
         FROM unnest($1::int[], $2::uuid[], $3::date[]) AS t(i, m, d),
              LATERAL claimdesk.check_eligibility(t.m, t.d) e",
    )
    .bind(&idx)
    .bind(&mids)
    .bind(&dates)
    .fetch_all(&mut **tx)
    .await?;
    for (i, eligible, reason, policy, plan) in eligibility {
        let i = i as usize;
        if !eligible {
            let why = reason.unwrap_or_default().replace('_', " ");
            outcomes[i] = Err(reject(
                "A3",
                "109",
                Some("IL"),
                "not_eligible",
                format!("the member is not covered on the date of service ({why})"),
            ));
            continue;
        }
        if let Ok(a) = outcomes[i].as_mut() {
            a.policy = policy;
            let days = plan
                .and_then(|p| reference.prompt_days.get(&p).copied())
                .unwrap_or(30);
            a.due = today + chrono::Duration::days(days);
        }
    }

    // Duplicates of claims on file: the same provider's claim (CLM01) for the
    // same member, first date and charge is refused; the same member,
    // provider, date and charge under another CLM01 is taken and marked as a
    // suspect for the adjudicator.
    let cands: Vec<(i32, Uuid, Uuid, Uuid, NaiveDate, Decimal, String)> = outcomes
        .iter()
        .enumerate()
        .filter_map(|(i, o)| {
            let a = o.as_ref().ok()?;
            (a.claim.frequency == "1").then(|| {
                (
                    i as i32,
                    a.member,
                    a.provider,
                    a.billing,
                    a.from,
                    a.claim.total_charge,
                    a.claim.patient_account.clone(),
                )
            })
        })
        .collect();
    if !cands.is_empty() {
        let dupes: Vec<(i32, Uuid, bool)> = sqlx::query_as(
            "SELECT t.i, c.id, (c.billing_provider_id = t.b AND c.patient_account_number = t.acct)
             FROM unnest($1::int[], $2::uuid[], $3::uuid[], $4::uuid[], $5::date[], $6::numeric[], $7::text[])
                  AS t(i, m, p, b, d, amt, acct)
             JOIN LATERAL (SELECT id, billing_provider_id, patient_account_number FROM claimdesk.claim c
                           WHERE c.member_id = t.m AND c.provider_id = t.p AND c.service_from = t.d
                             AND c.total_billed = t.amt AND c.status <> 'void'
                           ORDER BY (c.billing_provider_id = t.b AND c.patient_account_number = t.acct) DESC NULLS LAST,
                                    c.received_at
                           LIMIT 1) c ON true",
        )
        .bind(cands.iter().map(|c| c.0).collect::<Vec<_>>())
        .bind(cands.iter().map(|c| c.1).collect::<Vec<_>>())
        .bind(cands.iter().map(|c| c.2).collect::<Vec<_>>())
        .bind(cands.iter().map(|c| c.3).collect::<Vec<_>>())
        .bind(cands.iter().map(|c| c.4).collect::<Vec<_>>())
        .bind(cands.iter().map(|c| c.5).collect::<Vec<_>>())
        .bind(cands.iter().map(|c| c.6.clone()).collect::<Vec<_>>())
        .fetch_all(&mut **tx)
        .await?;
        for (i, of, exact) in dupes {
            let i = i as usize;
            if exact {
                outcomes[i] = Err(reject(
                    "A3",
                    "78",
                    None,
                    "duplicate",
                    "the same claim from this provider is already on file".into(),
                ));
            } else if let Ok(a) = outcomes[i].as_mut() {
                a.suspect_of = Some(of);
            }
        }
    }
    // Twice in the file: the second is the duplicate.
    for (o, earlier) in outcomes.iter_mut().zip(earlier) {
        if *earlier && o.is_ok() {
            *o = Err(reject(
                "A3",
                "78",
                None,
                "duplicate",
                "the same claim appears twice in this file".into(),
            ));
        }
    }

    let admitted: Vec<&Admitted<'_>> = outcomes.iter().filter_map(|o| o.as_ref().ok()).collect();
    let numbers = claim_numbers(pool, today, admitted.len()).await?;
    let claim_numbers: HashMap<Uuid, String> = admitted
        .iter()
        .zip(&numbers)
        .map(|(a, n)| (a.id, n.clone()))
        .collect();
    write_claims(tx, reference, options, set_id, &admitted, &claim_numbers).await?;

    // Replacements and voids take their originals' place.
    for a in &admitted {
        if let Some(original) = a.original {
            let number = &claim_numbers[&a.id];
            let reason = if a.claim.frequency == "8" {
                format!("Voided by {number}")
            } else {
                format!("Replaced by {number}")
            };
            sqlx::query("SELECT claimdesk.intake_supersede($1, $2, $3, $4)")
                .bind(original)
                .bind(a.id)
                .bind(&a.claim.frequency)
                .bind(&reason)
                .execute(&mut **tx)
                .await?;
        }
    }

    // Results for the 277CA; the rejected ones also for the batch view (a
    // claim taken is found by its intake_set_id).
    let mut acks = Vec::with_capacity(claims.len());
    let mut rows: (Vec<Uuid>, Vec<i32>, Vec<String>, Vec<Decimal>, Vec<String>) =
        Default::default();
    let mut stc: (
        Vec<&'static str>,
        Vec<&'static str>,
        Vec<Option<&'static str>>,
        Vec<&'static str>,
        Vec<String>,
    ) = Default::default();
    for (i, (c, o)) in claims.iter().zip(&outcomes).enumerate() {
        let outcome = match o {
            Ok(a) => ClaimOutcome::Accepted {
                claim_number: claim_numbers[&a.id].clone(),
            },
            Err(r) => {
                rows.0.push(Uuid::now_v7());
                rows.1.push(i as i32 + 1);
                rows.2.push(c.patient_account.clone());
                rows.3.push(c.total_charge);
                rows.4.push(c.frequency.clone());
                stc.0.push(r.category);
                stc.1.push(r.code);
                stc.2.push(r.entity);
                stc.3.push(r.reason);
                stc.4.push(r.words.clone());
                ClaimOutcome::Rejected(r.clone())
            }
        };
        let person = c.person();
        acks.push(ClaimAck {
            patient_account: c.patient_account.clone(),
            charge: c.total_charge,
            billing_npi: c.billing.npi.clone().unwrap_or_default(),
            billing_name: c.billing.name.clone(),
            patient_last: person.last_name.clone(),
            patient_first: person.first_name.clone(),
            member_id: c.subscriber.member_id.clone(),
            service: c.service_span(),
            outcome,
        });
    }
    if !rows.0.is_empty() {
        sqlx::query(
            "INSERT INTO claimdesk.intake_claim (id, set_id, ordinal, patient_account, charge, frequency_code,
                 status_category, status_code, entity, reason, explanation)
             SELECT t.id, $1, t.o, t.a, t.c, t.f, t.cat, t.code, t.ent, t.r, t.w
             FROM unnest($2::uuid[], $3::int[], $4::text[], $5::numeric[], $6::text[], $7::text[], $8::text[],
                         $9::text[], $10::text[], $11::text[])
                  AS t(id, o, a, c, f, cat, code, ent, r, w)",
        )
        .bind(set_id)
        .bind(&rows.0)
        .bind(&rows.1)
        .bind(&rows.2)
        .bind(&rows.3)
        .bind(&rows.4)
        .bind(&stc.0)
        .bind(&stc.1)
        .bind(&stc.2)
        .bind(&stc.3)
        .bind(&stc.4)
        .execute(&mut **tx)
        .await?;
    }
    Ok(acks)
}

/// The checks that need no round trip.
fn check<'c>(
    c: &'c Claim837,
    reference: &Reference,
    today: NaiveDate,
    members: &HashMap<&str, &MemberRow>,
    family: &[MemberRow],
    providers: &HashMap<String, Uuid>,
    originals: &HashMap<String, OriginalRow>,
) -> Result<Admitted<'c>, Rejection> {
    let npi = c.billing.npi.as_deref().unwrap_or("");
    if !npi_valid(npi) {
        return Err(reject(
            "A7",
            "562",
            Some("85"),
            "npi_invalid",
            "the billing provider's NPI fails its check digit".into(),
        ));
    }
    let Some(&billing) = providers.get(npi) else {
        return Err(reject(
            "A3",
            "562",
            Some("85"),
            "npi_unknown",
            "the billing provider's NPI is not on file".into(),
        ));
    };
    let provider = match c.rendering.as_ref().and_then(|r| r.npi.as_deref()) {
        None => billing,
        Some(r) if !npi_valid(r) => {
            return Err(reject(
                "A7",
                "562",
                Some("82"),
                "npi_invalid",
                "the rendering provider's NPI fails its check digit".into(),
            ))
        }
        Some(r) => match providers.get(r) {
            Some(&p) => p,
            None => {
                return Err(reject(
                    "A3",
                    "562",
                    Some("82"),
                    "npi_unknown",
                    "the rendering provider's NPI is not on file".into(),
                ))
            }
        },
    };
    let Some(subscriber) = members.get(c.subscriber.member_id.expose().as_str()) else {
        return Err(reject(
            "A7",
            "164",
            Some("IL"),
            "member_not_found",
            "no member has this member id".into(),
        ));
    };
    let member = match &c.patient {
        None => *subscriber,
        Some(p) => {
            let dob = crate::x12::rules::date8(p.date_of_birth.expose());
            let found = family.iter().find(|m| {
                m.subscriber_id == subscriber.subscriber_id
                    && m.last_name.eq_ignore_ascii_case(p.last_name.expose())
                    && Some(m.date_of_birth) == dob
            });
            match found {
                Some(m) => m,
                None => {
                    return Err(reject(
                        "A7",
                        "164",
                        Some("QC"),
                        "patient_not_found",
                        "the patient is not a member of the subscriber's family".into(),
                    ))
                }
            }
        }
    };
    let Some((from, to)) = c.service_span() else {
        return Err(reject(
            "A7",
            "187",
            None,
            "service_dates",
            "no date of service".into(),
        ));
    };
    if to > today {
        return Err(reject(
            "A7",
            "187",
            None,
            "service_dates",
            "a date of service in the future".into(),
        ));
    }
    if !matches!(c.frequency.as_str(), "1" | "7" | "8") {
        return Err(reject(
            "A7",
            "535",
            None,
            "frequency_unsupported",
            format!(
                "frequency code {} is not taken here (1, 7 or 8)",
                c.frequency
            ),
        ));
    }
    let original = if c.frequency == "1" {
        None
    } else {
        let Some(reference) = c.original_reference.as_deref() else {
            return Err(reject(
                "A7",
                "464",
                None,
                "original_missing",
                "a replacement or void without the original claim's number (REF*F8)".into(),
            ));
        };
        match originals.get(reference) {
            Some(o)
                if o.member_id == member.id
                    && o.billing_provider_id.unwrap_or(o.provider_id) == billing =>
            {
                if o.status == "void" {
                    return Err(reject(
                        "A7",
                        "464",
                        None,
                        "original_void",
                        "the original claim is already void".into(),
                    ));
                }
                Some(o.id)
            }
            _ => {
                return Err(reject(
                    "A7",
                    "464",
                    None,
                    "original_unknown",
                    "no claim of this provider and member has the original claim's number".into(),
                ))
            }
        }
    };
    if c.line_total() != c.total_charge {
        return Err(reject(
            "A7",
            "400",
            None,
            "claim_out_of_balance",
            "the claim's total charge is not the sum of its lines".into(),
        ));
    }
    for l in &c.lines {
        if l.procedure.is_empty() || !reference.cpt.contains(&l.procedure) {
            return Err(reject(
                "A7",
                "454",
                None,
                "procedure_unknown",
                format!(
                    "line {}: procedure code {} is not on file",
                    l.number, l.procedure
                ),
            ));
        }
        if l.diagnosis_pointers
            .iter()
            .any(|&p| p as usize > c.diagnoses.len())
        {
            return Err(reject(
                "A7",
                "255",
                None,
                "diagnosis_pointer",
                format!(
                    "line {} points at a diagnosis the claim does not have",
                    l.number
                ),
            ));
        }
        if let Some(pos) = &l.place_of_service {
            if !reference.places.contains(pos) {
                return Err(reject(
                    "A7",
                    "249",
                    None,
                    "place_of_service_unknown",
                    format!("line {}: unknown place of service", l.number),
                ));
            }
        }
    }
    for d in &c.diagnoses {
        if !d.is_icd10() || !reference.icd10.contains(&icd10_dotted(d.code.expose())) {
            return Err(reject(
                "A7",
                "255",
                None,
                "diagnosis_unknown",
                "a diagnosis that is not an ICD-10-CM code on file".into(),
            ));
        }
    }
    if c.kind == ClaimKind::Professional && !reference.places.contains(&c.facility_code) {
        return Err(reject(
            "A7",
            "249",
            None,
            "place_of_service_unknown",
            "the claim's place of service is not on file".into(),
        ));
    }
    Ok(Admitted {
        claim: c,
        id: Uuid::now_v7(),
        member: member.id,
        policy: None,
        provider,
        billing,
        restricted: member.restricted,
        from,
        to,
        original,
        suspect_of: None,
        due: today + chrono::Duration::days(30),
    })
}

/// `n` claim numbers for `day`, with one counter update committed on its
/// own: sets written side by side would otherwise queue on the counter's row
/// until the first commits. A set that then fails leaves a gap in the day's
/// numbers, as a sequence would; numbers are unique, not gapless.
async fn claim_numbers(
    pool: &PgPool,
    day: NaiveDate,
    n: usize,
) -> Result<Vec<String>, sqlx::Error> {
    if n == 0 {
        return Ok(vec![]);
    }
    let last: i32 = sqlx::query_scalar(
        "INSERT INTO claimdesk.claim_number_counter AS c (day, last_value) VALUES ($1, $2)
         ON CONFLICT (day) DO UPDATE SET last_value = c.last_value + $2 RETURNING last_value",
    )
    .bind(day)
    .bind(n as i32)
    .fetch_one(pool)
    .await?;
    let first = last - n as i32 + 1;
    let prefix = format!("CLM-{:04}{:02}{:02}-", day.year(), day.month(), day.day());
    Ok((first..=last).map(|v| format!("{prefix}{v:06}")).collect())
}

/// Place of service of an institutional claim, from its facility type
/// (CLM05-1: facility and classification digits of the type of bill).
fn institutional_place(facility: &str) -> Option<&'static str> {
    Some(match facility {
        "11" | "12" => "21",
        "13" | "14" => "22",
        "21" | "22" | "23" => "31",
        "32" | "33" | "34" => "12",
        "71" => "72",
        "73" | "77" => "50",
        "81" | "82" => "34",
        "83" => "24",
        "85" => "22",
        _ => return None,
    })
}

#[allow(clippy::type_complexity)]
async fn write_claims(
    tx: &mut Transaction<'_, Postgres>,
    reference: &Reference,
    options: &IntakeOptions,
    set_id: Uuid,
    admitted: &[&Admitted<'_>],
    numbers: &HashMap<Uuid, String>,
) -> Result<(), sqlx::Error> {
    if admitted.is_empty() {
        return Ok(());
    }
    let today = options.now.date_naive();
    let received = options.now;
    let n = admitted.len();
    let mut c_id = Vec::with_capacity(n);
    let mut c_number = Vec::with_capacity(n);
    let mut c_type = Vec::with_capacity(n);
    let mut c_member = Vec::with_capacity(n);
    let mut c_policy = Vec::with_capacity(n);
    let mut c_provider = Vec::with_capacity(n);
    let mut c_billing = Vec::with_capacity(n);
    let mut c_account = Vec::with_capacity(n);
    let mut c_freq = Vec::with_capacity(n);
    let mut c_pos: Vec<Option<String>> = Vec::with_capacity(n);
    let mut c_auth: Vec<Option<String>> = Vec::with_capacity(n);
    let mut c_from = Vec::with_capacity(n);
    let mut c_to = Vec::with_capacity(n);
    let mut c_status = Vec::with_capacity(n);
    let mut c_priority = Vec::with_capacity(n);
    let mut c_reasons = Vec::with_capacity(n);
    let mut c_conf = Vec::with_capacity(n);
    let mut c_due = Vec::with_capacity(n);
    let mut c_billed = Vec::with_capacity(n);
    let mut c_restricted = Vec::with_capacity(n);
    let mut c_suspect = Vec::with_capacity(n);
    let mut c_facility: Vec<Option<String>> = Vec::with_capacity(n);
    let mut c_admission = Vec::with_capacity(n);
    let mut c_pwk = Vec::with_capacity(n);
    let mut c_replaces = Vec::with_capacity(n);
    let mut l: (
        Vec<Uuid>,
        Vec<Uuid>,
        Vec<i16>,
        Vec<NaiveDate>,
        Vec<String>,
        Vec<String>,
        Vec<String>,
    ) = Default::default();
    let mut l_units = vec![];
    let mut l_pos: Vec<Option<String>> = vec![];
    let mut l_billed = vec![];
    let mut l_rev: Vec<Option<String>> = vec![];
    let mut d: (Vec<Uuid>, Vec<Uuid>, Vec<i16>, Vec<String>) = Default::default();
    for a in admitted {
        let c = a.claim;
        let institutional = c.kind == ClaimKind::Institutional;
        let place = if institutional {
            institutional_place(&c.facility_code).map(str::to_string)
        } else {
            Some(c.facility_code.clone())
        };
        let codes: Vec<String> = c
            .diagnoses
            .iter()
            .map(|x| icd10_dotted(x.code.expose()))
            .collect();
        let facts = ClaimFacts {
            cpts: c.lines.iter().map(|x| x.procedure.clone()).collect(),
            icd10: codes.clone(),
            place_of_service: place.clone().unwrap_or_default(),
            billed: c.total_charge,
            due: a.due,
            risk_severity: None,
        };
        let scored = priority::score(&facts, &reference.rules, today);
        c_id.push(a.id);
        c_number.push(numbers[&a.id].clone());
        c_type.push(c.kind.as_str());
        c_member.push(a.member);
        c_policy.push(a.policy);
        c_provider.push(a.provider);
        c_billing.push(a.billing);
        c_account.push(c.patient_account.clone());
        c_freq.push(c.frequency.clone());
        c_pos.push(place.clone());
        c_auth.push(c.prior_auth.clone());
        c_from.push(a.from);
        c_to.push(a.to);
        c_status.push(if c.frequency == "8" {
            "void"
        } else {
            "received"
        });
        c_priority.push(scored.priority.as_str());
        c_reasons.push(serde_json::to_value(&scored.reasons).unwrap_or_default());
        c_conf.push(scored.confidence);
        c_due.push(a.due);
        c_billed.push(c.total_charge);
        c_restricted.push(a.restricted);
        c_suspect.push(a.suspect_of);
        c_facility.push(institutional.then(|| c.facility_code.clone()));
        c_admission.push(c.admission);
        c_pwk.push(serde_json::Value::Array(
            c.attachments
                .iter()
                .map(|p| {
                    serde_json::json!({"report_type": p.report_type, "transmission": p.transmission, "control": p.control})
                })
                .collect(),
        ));
        c_replaces.push(a.original);
        for (k, line) in c.lines.iter().enumerate() {
            l.0.push(Uuid::now_v7());
            l.1.push(a.id);
            l.2.push(k as i16 + 1);
            l.3.push(line.service_from.unwrap_or(a.from));
            l.4.push(line.procedure.clone());
            l.5.push(line.modifiers.join(","));
            let pointers = if line.diagnosis_pointers.is_empty() {
                "1".to_string()
            } else {
                line.diagnosis_pointers
                    .iter()
                    .map(|p| p.to_string())
                    .collect::<Vec<_>>()
                    .join(",")
            };
            l.6.push(pointers);
            l_units.push(line.units);
            l_pos.push(line.place_of_service.clone().or_else(|| place.clone()));
            l_billed.push(line.charge);
            l_rev.push(line.revenue_code.clone());
        }
        for (k, code) in codes.into_iter().enumerate() {
            d.0.push(Uuid::now_v7());
            d.1.push(a.id);
            d.2.push(k as i16 + 1);
            d.3.push(code);
        }
    }
    sqlx::query(
        "SELECT set_config('claimdesk.status_reason', 'Received by X12 837', true),
                set_config('claimdesk.intake_set', $1::text, true)",
    )
    .bind(set_id)
    .execute(&mut **tx)
    .await?;
    sqlx::query(
        "INSERT INTO claimdesk.claim (id, claim_number, claim_type, member_id, policy_id, provider_id,
             billing_provider_id, patient_account_number, frequency_code, place_of_service, prior_auth_number,
             service_from, service_to, received_at, status, priority, priority_reasons, priority_confidence,
             prompt_pay_due, total_billed, restricted, suspected_duplicate_of, intake_set_id, facility_type_code,
             admission_date, attachments_expected, replaces_claim_id)
         SELECT t.id, t.num, t.ty, t.m, t.pol, t.p, t.b, t.acct, t.f, t.pos, t.auth, t.sf, t.st, $1, t.status,
                t.pri, t.reasons, t.conf, t.due, t.billed, t.r, t.sus, $2, t.fac, t.adm, t.pwk, t.rep
         FROM unnest($3::uuid[], $4::text[], $5::text[], $6::uuid[], $7::uuid[], $8::uuid[], $9::uuid[],
                     $10::text[], $11::text[], $12::text[], $13::text[], $14::date[], $15::date[], $16::text[],
                     $17::text[], $18::jsonb[], $19::numeric[], $20::date[], $21::numeric[], $22::bool[],
                     $23::uuid[], $24::text[], $25::date[], $26::jsonb[], $27::uuid[])
              AS t(id, num, ty, m, pol, p, b, acct, f, pos, auth, sf, st, status, pri, reasons, conf, due,
                   billed, r, sus, fac, adm, pwk, rep)",
    )
    .bind(received)
    .bind(set_id)
    .bind(&c_id)
    .bind(&c_number)
    .bind(&c_type)
    .bind(&c_member)
    .bind(&c_policy)
    .bind(&c_provider)
    .bind(&c_billing)
    .bind(&c_account)
    .bind(&c_freq)
    .bind(&c_pos)
    .bind(&c_auth)
    .bind(&c_from)
    .bind(&c_to)
    .bind(&c_status)
    .bind(&c_priority)
    .bind(&c_reasons)
    .bind(&c_conf)
    .bind(&c_due)
    .bind(&c_billed)
    .bind(&c_restricted)
    .bind(&c_suspect)
    .bind(&c_facility)
    .bind(&c_admission)
    .bind(&c_pwk)
    .bind(&c_replaces)
    .execute(&mut **tx)
    .await?;
    sqlx::query(
        "INSERT INTO claimdesk.claim_diagnosis (id, claim_id, sequence, icd10_code)
         SELECT * FROM unnest($1::uuid[], $2::uuid[], $3::int2[], $4::text[])",
    )
    .bind(&d.0)
    .bind(&d.1)
    .bind(&d.2)
    .bind(&d.3)
    .execute(&mut **tx)
    .await?;
    sqlx::query(
        "INSERT INTO claimdesk.claim_line (id, claim_id, line_number, service_date, cpt_code, modifiers,
             diagnosis_pointers, units, place_of_service, billed, revenue_code)
         SELECT t.id, t.c, t.n, t.d, t.cpt, CASE WHEN t.mods = '' THEN '{}' ELSE string_to_array(t.mods, ',') END,
                string_to_array(t.ptr, ',')::int2[], t.u, t.pos, t.billed, t.rev
         FROM unnest($1::uuid[], $2::uuid[], $3::int2[], $4::date[], $5::text[], $6::text[], $7::text[],
                     $8::numeric[], $9::text[], $10::numeric[], $11::text[])
              AS t(id, c, n, d, cpt, mods, ptr, u, pos, billed, rev)",
    )
    .bind(&l.0)
    .bind(&l.1)
    .bind(&l.2)
    .bind(&l.3)
    .bind(&l.4)
    .bind(&l.5)
    .bind(&l.6)
    .bind(&l_units)
    .bind(&l_pos)
    .bind(&l_billed)
    .bind(&l_rev)
    .execute(&mut **tx)
    .await?;
    sqlx::query(
        "SELECT set_config('claimdesk.status_reason', '', true), set_config('claimdesk.intake_set', '', true),
                claimdesk.audit_append('intake', 'intake_set', $1::text, NULL, true, NULL,
                                       jsonb_build_object('claims', $2::uuid[], 'lines', $3::int, 'diagnoses', $4::int))",
    )
    .bind(set_id)
    .bind(&c_id)
    .bind(l.0.len() as i32)
    .bind(d.0.len() as i32)
    .execute(&mut **tx)
    .await?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn npi_check_digit() {
        assert!(npi_valid("1234567893"));
        assert!(!npi_valid("1234567890"));
        assert!(!npi_valid("123456789"));
        assert!(!npi_valid("12345678AB"));
    }

    #[test]
    fn icd10_spelling() {
        assert_eq!(icd10_dotted("J45909"), "J45.909");
        assert_eq!(icd10_dotted("I10"), "I10");
    }
}
