//! The audit log's hash chain, verified independently of the database.
//!
//! The server computes each row's hash in `claimdesk.audit_row_hash`; this
//! module recomputes it from the stored columns, so a verifier does not have
//! to trust functions an attacker with owner rights could have replaced.

use chrono::{DateTime, Utc};
use futures_util::TryStreamExt;
use serde::Serialize;
use sha2::{Digest, Sha256};
use sqlx::PgConnection;
use uuid::Uuid;

/// One audit row as stored, with JSON columns in PostgreSQL's canonical text.
#[derive(Debug, Clone, sqlx::FromRow)]
pub struct AuditRow {
    /// Global reading order (from migration 0017, a sequence: it may skip
    /// where a transaction rolled back).
    pub seq: i64,
    /// When the event happened (server clock).
    pub occurred_at: DateTime<Utc>,
    /// The session's login role.
    pub db_user: String,
    /// The staff group it acted in.
    pub db_role: String,
    /// What happened: insert, update, delete, view, release, reassign, …
    pub action: String,
    /// The table or kind of thing acted on.
    pub resource_type: String,
    /// Its id.
    pub resource_id: Option<String>,
    /// Whose PHI the event concerns.
    pub member_id: Option<Uuid>,
    /// Whether PHI was read or written.
    pub phi_accessed: bool,
    /// Changed columns before (jsonb as text).
    pub old_values: Option<String>,
    /// Changed columns after (jsonb as text).
    pub new_values: Option<String>,
    /// Client information (jsonb as text).
    pub client_info: String,
    /// The previous row's hash in the same lane (32 zero bytes for the first).
    pub prev_hash: Vec<u8>,
    /// This row's stored hash.
    pub row_hash: Vec<u8>,
    /// Its lane (0–7); none for rows from before lanes (they are lane 0).
    pub lane: Option<i16>,
    /// Its place in the lane, from 1, without gaps; none before lanes (then `seq`).
    pub lane_seq: Option<i64>,
}

/// The SQL that reads rows in the shape [`AuditRow`] expects.
pub const SELECT_ROWS: &str = "SELECT seq, occurred_at, db_user, db_role, action, resource_type, \
     resource_id, member_id, phi_accessed, old_values::text AS old_values, \
     new_values::text AS new_values, client_info::text AS client_info, prev_hash, row_hash, \
     lane, lane_seq FROM claimdesk.audit_log";

/// Lanes (migration 0017).
pub const LANES: i16 = 8;

/// A row's hashed content, borrowed (the verifier reads millions of rows
/// and allocates nothing per row).
#[derive(Debug, Clone, Copy)]
pub struct RowRef<'a> {
    /// See [`AuditRow`].
    pub seq: i64,
    /// See [`AuditRow`].
    pub occurred_at: DateTime<Utc>,
    /// See [`AuditRow`].
    pub db_user: &'a str,
    /// See [`AuditRow`].
    pub db_role: &'a str,
    /// See [`AuditRow`].
    pub action: &'a str,
    /// See [`AuditRow`].
    pub resource_type: &'a str,
    /// See [`AuditRow`].
    pub resource_id: Option<&'a str>,
    /// See [`AuditRow`].
    pub member_id: Option<Uuid>,
    /// See [`AuditRow`].
    pub phi_accessed: bool,
    /// See [`AuditRow`].
    pub old_values: Option<&'a str>,
    /// See [`AuditRow`].
    pub new_values: Option<&'a str>,
    /// See [`AuditRow`].
    pub client_info: &'a str,
    /// See [`AuditRow`].
    pub lane: Option<i16>,
    /// See [`AuditRow`].
    pub lane_seq: Option<i64>,
}

impl AuditRow {
    /// The row's content, borrowed.
    pub fn as_ref(&self) -> RowRef<'_> {
        RowRef {
            seq: self.seq,
            occurred_at: self.occurred_at,
            db_user: &self.db_user,
            db_role: &self.db_role,
            action: &self.action,
            resource_type: &self.resource_type,
            resource_id: self.resource_id.as_deref(),
            member_id: self.member_id,
            phi_accessed: self.phi_accessed,
            old_values: self.old_values.as_deref(),
            new_values: self.new_values.as_deref(),
            client_info: &self.client_info,
            lane: self.lane,
            lane_seq: self.lane_seq,
        }
    }
}

/// The hash a row must have: SHA-256 over the previous hash and the
/// canonical content. Must match `claimdesk.audit_row_hash` (rows from
/// before lanes) or `audit_row_hash_v2` byte for byte. Fed to the hasher
/// field by field: the verifier runs this for every row of the trail.
pub fn row_hash(prev_hash: &[u8], row: &AuditRow) -> [u8; 32] {
    hash_of(prev_hash, &row.as_ref())
}

/// [`row_hash`] over borrowed content.
pub fn hash_of(prev_hash: &[u8], row: &RowRef<'_>) -> [u8; 32] {
    const NULL: &[u8] = b"\\N";
    const SEP: &[u8] = b"\x1f";
    let mut h = Sha256::new();
    h.update(prev_hash);
    let mut number = itoa::Buffer::new();
    if let (Some(lane), Some(lane_seq)) = (row.lane, row.lane_seq) {
        h.update(b"v2\x1f");
        h.update(number.format(row.seq).as_bytes());
        h.update(SEP);
        h.update(number.format(lane).as_bytes());
        h.update(SEP);
        h.update(number.format(lane_seq).as_bytes());
    } else {
        h.update(number.format(row.seq).as_bytes());
    }
    h.update(SEP);
    // The timestamp as PostgreSQL's to_char writes it: microseconds, UTC.
    let mut at = [0u8; 27];
    write_timestamp(&row.occurred_at, &mut at);
    h.update(at);
    for field in [row.db_user, row.db_role, row.action, row.resource_type] {
        h.update(SEP);
        h.update(field.as_bytes());
    }
    h.update(SEP);
    h.update(row.resource_id.map_or(NULL, str::as_bytes));
    h.update(SEP);
    match row.member_id {
        Some(m) => h.update(
            m.hyphenated()
                .encode_lower(&mut Uuid::encode_buffer())
                .as_bytes(),
        ),
        None => h.update(NULL),
    }
    h.update(SEP);
    h.update(if row.phi_accessed { "true" } else { "false" });
    h.update(SEP);
    h.update(row.old_values.map_or(NULL, str::as_bytes));
    h.update(SEP);
    h.update(row.new_values.map_or(NULL, str::as_bytes));
    h.update(SEP);
    h.update(row.client_info.as_bytes());
    h.finalize().into()
}

/// `YYYY-MM-DDTHH:MM:SS.ffffffZ` into `out`, without allocating.
fn write_timestamp(at: &DateTime<Utc>, out: &mut [u8; 27]) {
    use chrono::{Datelike, Timelike};
    let mut put = |from: usize, width: usize, mut v: u32| {
        for i in (from..from + width).rev() {
            out[i] = b'0' + (v % 10) as u8;
            v /= 10;
        }
    };
    put(0, 4, at.year() as u32);
    put(5, 2, at.month());
    put(8, 2, at.day());
    put(11, 2, at.hour());
    put(14, 2, at.minute());
    put(17, 2, at.second());
    put(20, 6, at.nanosecond() % 1_000_000_000 / 1_000);
    out[4] = b'-';
    out[7] = b'-';
    out[10] = b'T';
    out[13] = b':';
    out[16] = b':';
    out[19] = b'.';
    out[26] = b'Z';
}

/// Where and how the chain is broken. `seq` names the row to look at.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, specta::Type)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum ChainBreak {
    /// A row is missing from a lane: its positions jump.
    Gap {
        /// The lane.
        lane: i16,
        /// The lane position that should have come next.
        expected: i32,
        /// The lane position found instead.
        found: i32,
        /// The row found in its place.
        seq: i32,
    },
    /// The row does not link to the row before it in its lane (deleted,
    /// moved or reordered rows).
    BrokenLink {
        /// The lane.
        lane: i16,
        /// The row whose prev_hash is wrong.
        seq: i32,
    },
    /// The row's content no longer matches its hash (an edit).
    ContentChanged {
        /// The lane.
        lane: i16,
        /// The edited row.
        seq: i32,
    },
    /// A lane's head records more (or other) rows than the lane has: rows
    /// at its end were removed.
    HeadMismatch {
        /// The lane.
        lane: i16,
        /// The last lane position the head recorded.
        head_seq: i32,
        /// The last lane position found.
        last_seq: i32,
    },
}

impl ChainBreak {
    /// The row the break is found at; a head mismatch sorts after every row.
    pub fn seq(&self) -> i32 {
        match self {
            Self::Gap { seq, .. }
            | Self::BrokenLink { seq, .. }
            | Self::ContentChanged { seq, .. } => *seq,
            Self::HeadMismatch { .. } => i32::MAX,
        }
    }
}

/// Result of a verification run.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, specta::Type)]
pub struct ChainReport {
    /// Rows read.
    pub rows_checked: i32,
    /// The first break found (by reading order), if any.
    pub first_break: Option<ChainBreak>,
}

/// One lane's rows within a run of the trail.
#[derive(Debug, Clone)]
struct Segment {
    first_seq: i64,
    first_lane_seq: i64,
    first_prev: Vec<u8>,
    last_lane_seq: i64,
    last_hash: Vec<u8>,
}

/// What one worker found in its run of the trail.
#[derive(Debug, Default)]
struct Run {
    rows: i64,
    lanes: std::collections::BTreeMap<i16, Segment>,
    /// Each lane's hash at the position its head recorded, where this run has it.
    at_head: std::collections::BTreeMap<i16, Vec<u8>>,
    first_break: Option<ChainBreak>,
}

/// Each lane's head: its last position and hash.
type Heads = std::collections::BTreeMap<i16, (i64, Vec<u8>)>;

/// Checks one row against its lane so far; false at a break (recorded).
fn check(run: &mut Run, heads: &Heads, row: &RowRef<'_>, prev_hash: &[u8], stored: &[u8]) -> bool {
    run.rows += 1;
    let lane = row.lane.unwrap_or(0);
    let lane_seq = row.lane_seq.unwrap_or(row.seq);
    let seq = clamp(row.seq);
    // Content first: a row's hash covers its lane, its position and its
    // link, so any edit to the row itself is named as one.
    let broken = match run.lanes.get(&lane) {
        _ if hash_of(prev_hash, row).as_slice() != stored => {
            Some(ChainBreak::ContentChanged { lane, seq })
        }
        Some(s) if lane_seq != s.last_lane_seq + 1 => Some(ChainBreak::Gap {
            lane,
            expected: clamp(s.last_lane_seq + 1),
            found: clamp(lane_seq),
            seq,
        }),
        Some(s) if prev_hash != s.last_hash.as_slice() => {
            Some(ChainBreak::BrokenLink { lane, seq })
        }
        _ => None,
    };
    if broken.is_some() {
        run.first_break = broken;
        return false;
    }
    if heads.get(&lane).is_some_and(|(at, _)| *at == lane_seq) {
        run.at_head.insert(lane, stored.to_vec());
    }
    match run.lanes.get_mut(&lane) {
        Some(s) => {
            s.last_lane_seq = lane_seq;
            s.last_hash.clear();
            s.last_hash.extend_from_slice(stored);
        }
        None => {
            run.lanes.insert(
                lane,
                Segment {
                    first_seq: row.seq,
                    first_lane_seq: lane_seq,
                    first_prev: prev_hash.to_vec(),
                    last_lane_seq: lane_seq,
                    last_hash: stored.to_vec(),
                },
            );
        }
    }
    true
}

/// A field of a binary COPY tuple: its bytes, or none for NULL.
fn field<'a>(buf: &'a [u8], at: &mut usize) -> Option<Option<&'a [u8]>> {
    let len = i32::from_be_bytes(buf.get(*at..*at + 4)?.try_into().ok()?);
    *at += 4;
    if len < 0 {
        return Some(None);
    }
    let bytes = buf.get(*at..*at + len as usize)?;
    *at += len as usize;
    Some(Some(bytes))
}

/// One tuple of [`SELECT_ROWS`] from binary COPY, or none when `buf` does
/// not hold all of it yet. `Err` when the bytes are not what was asked for.
#[allow(clippy::type_complexity)]
fn tuple<'a>(
    buf: &'a [u8],
    at: &mut usize,
) -> Result<Option<Option<(RowRef<'a>, &'a [u8], &'a [u8])>>, sqlx::Error> {
    let bad = |what: &str| sqlx::Error::Protocol(format!("audit COPY: {what}"));
    let start = *at;
    let Some(count) = buf.get(*at..*at + 2) else {
        return Ok(None);
    };
    let count = i16::from_be_bytes([count[0], count[1]]);
    *at += 2;
    if count == -1 {
        return Ok(Some(None));
    }
    if count != 16 {
        return Err(bad("unexpected column count"));
    }
    let mut f: [Option<&[u8]>; 16] = [None; 16];
    for slot in &mut f {
        match field(buf, at) {
            Some(v) => *slot = v,
            None => {
                *at = start;
                return Ok(None);
            }
        }
    }
    let int8 = |v: Option<&[u8]>| -> Result<Option<i64>, sqlx::Error> {
        v.map(|b| {
            b.try_into()
                .map(i64::from_be_bytes)
                .map_err(|_| bad("int8"))
        })
        .transpose()
    };
    let text = |v: Option<&'a [u8]>| -> Result<Option<&'a str>, sqlx::Error> {
        v.map(|b| std::str::from_utf8(b).map_err(|_| bad("text")))
            .transpose()
    };
    let need = |v: Option<&'a str>| v.ok_or_else(|| bad("null where a value belongs"));
    // timestamptz: microseconds since 2000-01-01 UTC.
    let micros = int8(f[1])?.ok_or_else(|| bad("time"))?;
    let occurred_at = DateTime::<Utc>::from_timestamp_micros(micros + 946_684_800_000_000)
        .ok_or_else(|| bad("time"))?;
    let row = RowRef {
        seq: int8(f[0])?.ok_or_else(|| bad("seq"))?,
        occurred_at,
        db_user: need(text(f[2])?)?,
        db_role: need(text(f[3])?)?,
        action: need(text(f[4])?)?,
        resource_type: need(text(f[5])?)?,
        resource_id: text(f[6])?,
        member_id: f[7]
            .map(|b| Uuid::from_slice(b).map_err(|_| bad("uuid")))
            .transpose()?,
        phi_accessed: f[8].is_some_and(|b| b == [1]),
        old_values: text(f[9])?,
        new_values: text(f[10])?,
        client_info: need(text(f[11])?)?,
        lane: f[14]
            .map(|b| {
                b.try_into()
                    .map(i16::from_be_bytes)
                    .map_err(|_| bad("int2"))
            })
            .transpose()?,
        lane_seq: int8(f[15])?,
    };
    Ok(Some(Some((
        row,
        f[12].ok_or_else(|| bad("prev_hash"))?,
        f[13].ok_or_else(|| bad("row_hash"))?,
    ))))
}

/// Checks the rows with `from <= seq < to` in reading order: within each
/// lane, positions contiguous, links and content intact. Stops at the
/// first break. Reads binary COPY (less work per row on both sides than
/// the row protocol) and parses rows in place, so memory stays flat.
async fn scan(
    conn: &mut PgConnection,
    heads: &Heads,
    from: i64,
    to: i64,
) -> Result<Run, sqlx::Error> {
    const SIGNATURE: &[u8] = b"PGCOPY\n\xff\r\n\0";
    let sql = format!(
        "COPY ({SELECT_ROWS} WHERE seq >= {from} AND seq < {to} ORDER BY seq) TO STDOUT (FORMAT binary)"
    );
    let mut stream = conn.copy_out_raw(&sql).await?;
    let mut buf: Vec<u8> = Vec::with_capacity(1 << 20);
    let mut at = 0usize;
    let mut header = false;
    let mut run = Run::default();
    // The stream is read to its end even after a break or the trailer: the
    // connection cannot be used again until the COPY is done.
    let mut done = false;
    while let Some(chunk) = stream.try_next().await? {
        if done {
            continue;
        }
        buf.drain(..at);
        at = 0;
        buf.extend_from_slice(&chunk);
        if !header {
            // Signature, flags, then an extension area of the given length.
            if buf.len() < 19 {
                continue;
            }
            if &buf[..11] != SIGNATURE {
                return Err(sqlx::Error::Protocol("audit COPY: not binary COPY".into()));
            }
            let ext = u32::from_be_bytes(buf[15..19].try_into().expect("four bytes")) as usize;
            if buf.len() < 19 + ext {
                continue;
            }
            at = 19 + ext;
            header = true;
        }
        while let Some(next) = tuple(&buf, &mut at)? {
            let Some((row, prev, stored)) = next else {
                done = true;
                break;
            };
            if !check(&mut run, heads, &row, prev, stored) {
                done = true;
                break;
            }
        }
    }
    Ok(run)
}

/// Joins the runs (in reading order) lane by lane and checks each lane's
/// head: every lane starts at position 1 from the zero hash, each run's
/// piece of a lane continues the previous one, and each lane reaches the
/// position its head recorded with the hash recorded there. (Rows past the
/// head were appended after it was read; they are checked like the rest.)
fn stitch(runs: Vec<Run>, heads: &Heads) -> ChainReport {
    let genesis = vec![0u8; 32];
    let mut rows = 0;
    let mut breaks: Vec<ChainBreak> = Vec::new();
    let mut ends: std::collections::BTreeMap<i16, (i64, Vec<u8>)> = Default::default();
    let mut at_head: std::collections::BTreeMap<i16, Vec<u8>> = Default::default();
    for run in runs {
        rows += run.rows;
        breaks.extend(run.first_break);
        at_head.extend(run.at_head);
        for (lane, s) in run.lanes {
            let (last, hash) = ends.get(&lane).cloned().unwrap_or((0, genesis.clone()));
            if s.first_lane_seq != last + 1 {
                breaks.push(ChainBreak::Gap {
                    lane,
                    expected: clamp(last + 1),
                    found: clamp(s.first_lane_seq),
                    seq: clamp(s.first_seq),
                });
            } else if s.first_prev != hash {
                breaks.push(ChainBreak::BrokenLink {
                    lane,
                    seq: clamp(s.first_seq),
                });
            }
            ends.insert(lane, (s.last_lane_seq, s.last_hash));
        }
    }
    if breaks.is_empty() {
        for (lane, (head_seq, head_hash)) in heads {
            let reached = *head_seq == 0 && *head_hash == genesis
                || at_head.get(lane).is_some_and(|h| h == head_hash);
            if !reached {
                breaks.push(ChainBreak::HeadMismatch {
                    lane: *lane,
                    head_seq: clamp(*head_seq),
                    last_seq: clamp(ends.get(lane).map_or(0, |e| e.0)),
                });
            }
        }
    }
    ChainReport {
        rows_checked: clamp(rows),
        first_break: breaks.into_iter().min_by_key(ChainBreak::seq),
    }
}

async fn heads(conn: &mut PgConnection) -> Result<Heads, sqlx::Error> {
    let rows: Vec<(i16, i64, Vec<u8>)> =
        sqlx::query_as("SELECT lane, last_seq, last_hash FROM claimdesk.audit_chain_head")
            .fetch_all(conn)
            .await?;
    Ok(rows.into_iter().map(|(l, s, h)| (l, (s, h))).collect())
}

/// Walks the whole trail on one connection (so it sees that connection's
/// transaction) and reports the first break in reading order. The heads
/// are read first: each lane only grows, so the rows read after include
/// every row the heads count.
pub async fn verify(conn: &mut PgConnection) -> Result<ChainReport, sqlx::Error> {
    let heads = heads(&mut *conn).await?;
    let run = scan(&mut *conn, &heads, i64::MIN, i64::MAX).await?;
    Ok(stitch(vec![run], &heads))
}

/// Walks the trail in `workers` runs of seq at once, each on its own
/// connection from `pool`, all in one exported snapshot (as `pg_dump -j`
/// does), and joins them: the same answer as [`verify`], sooner.
pub async fn verify_parallel(
    pool: &sqlx::PgPool,
    workers: usize,
) -> Result<ChainReport, sqlx::Error> {
    use sqlx::Connection as _;
    let mut lead = pool.acquire().await?;
    let mut snapshot_tx = lead.begin().await?;
    sqlx::query("SET TRANSACTION ISOLATION LEVEL REPEATABLE READ, READ ONLY")
        .execute(&mut *snapshot_tx)
        .await?;
    let snapshot: String = sqlx::query_scalar("SELECT pg_export_snapshot()")
        .fetch_one(&mut *snapshot_tx)
        .await?;
    let heads = heads(&mut snapshot_tx).await?;
    let (low, high): (Option<i64>, Option<i64>) =
        sqlx::query_as("SELECT min(seq), max(seq) FROM claimdesk.audit_log")
            .fetch_one(&mut *snapshot_tx)
            .await?;
    let (Some(low), Some(high)) = (low, high) else {
        return Ok(stitch(Vec::new(), &heads));
    };
    let workers = workers.max(1) as i64;
    let step = (high - low) / workers + 1;
    let (heads_ref, snapshot_ref) = (&heads, &snapshot);
    let runs = futures_util::future::try_join_all((0..workers).map(|i| async move {
        let mut conn = pool.acquire().await?;
        let mut tx = conn.begin().await?;
        sqlx::query("SET TRANSACTION ISOLATION LEVEL REPEATABLE READ, READ ONLY")
            .execute(&mut *tx)
            .await?;
        sqlx::query(&format!(
            "SET TRANSACTION SNAPSHOT '{}'",
            snapshot_ref.replace('\'', "")
        ))
        .execute(&mut *tx)
        .await?;
        let from = low + i * step;
        let run = scan(&mut tx, heads_ref, from, (from + step).min(high + 1)).await?;
        tx.commit().await?;
        Ok::<_, sqlx::Error>(run)
    }))
    .await?;
    snapshot_tx.commit().await?;
    Ok(stitch(runs, &heads))
}

/// Seq numbers travel to the UI, whose numbers are f64; 2^31 rows is far
/// beyond any audit log this app will verify in one go.
fn clamp(v: i64) -> i32 {
    i32::try_from(v).unwrap_or(i32::MAX)
}
