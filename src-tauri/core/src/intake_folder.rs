//! A drop folder for 837 files (a clearinghouse's SFTP target): files are
//! taken once complete, imported, and moved to `done/` or `rejected/` with
//! their answers beside them.
//!
//! "Complete" is what an SFTP upload can tell: not a dot-file or a
//! `.part`/`.tmp`/`.filepart` name, and the same size and modification time
//! on two looks at least `settle` apart. Restarts need no state of their
//! own: a file still in the folder is imported again, which resumes where
//! the last run stopped (the batch is found by the file's hash) or, when it
//! had finished, only writes the answers and moves the file.

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::time::{Duration, SystemTime};

use sqlx::PgPool;
use uuid::Uuid;

use crate::intake::{self, IntakeError, IntakeOptions, IntakeReport};

/// What became of one file.
#[derive(Debug)]
pub struct Processed {
    /// Where the file went.
    pub moved_to: PathBuf,
    /// The import's account.
    pub report: IntakeReport,
}

/// The folder's memory of what it has looked at.
#[derive(Debug, Default)]
pub struct Watch {
    seen: HashMap<PathBuf, (u64, SystemTime)>,
}

fn in_progress(name: &str) -> bool {
    name.starts_with('.')
        || [".part", ".tmp", ".filepart", ".partial"]
            .iter()
            .any(|s| name.to_ascii_lowercase().ends_with(s))
}

/// How long a file that does not end with its interchange trailer waits
/// for the rest before it is taken anyway (and answered as cut short).
pub const INCOMPLETE_GRACE: Duration = Duration::from_secs(600);

/// Whether the file's last segment is an IEA, with the separators its first
/// ISA declares: an upload that pauses longer than the watch's look is not
/// taken half written.
pub fn ends_with_trailer(path: &Path) -> std::io::Result<bool> {
    use std::io::{Read, Seek, SeekFrom};
    let mut f = std::fs::File::open(path)?;
    let mut head = [0u8; 106];
    if f.read(&mut head)? < head.len() || &head[..3] != b"ISA" {
        // Not an interchange at all: nothing more will make it one.
        return Ok(true);
    }
    let (element, terminator) = (head[3], head[105]);
    let len = f.metadata()?.len();
    let start = len.saturating_sub(4096);
    f.seek(SeekFrom::Start(start))?;
    let mut tail = Vec::with_capacity(4096);
    f.read_to_end(&mut tail)?;
    let mut end = tail.len();
    while end > 0 && (tail[end - 1].is_ascii_whitespace() || tail[end - 1] == terminator) {
        end -= 1;
    }
    let body = &tail[..end];
    let last = match body.iter().rposition(|&b| b == terminator) {
        Some(i) => &body[i + 1..],
        None => body,
    };
    let last = last.trim_ascii_start();
    Ok(last.len() > 4 && &last[..3] == b"IEA" && last[3] == element)
}

impl Watch {
    /// Files in `dir` that have stopped changing since the last look, are at
    /// least `settle` old, and end with their trailer (or have waited
    /// [`INCOMPLETE_GRACE`] for it).
    pub fn ready(&mut self, dir: &Path, settle: Duration) -> std::io::Result<Vec<PathBuf>> {
        let mut ready = vec![];
        let mut now_seen = HashMap::new();
        let mut entries: Vec<_> = std::fs::read_dir(dir)?.collect::<Result<_, _>>()?;
        entries.sort_by_key(|e| e.file_name());
        for e in entries {
            let meta = e.metadata()?;
            let name = e.file_name().to_string_lossy().into_owned();
            if !meta.is_file() || in_progress(&name) {
                continue;
            }
            let stamp = (meta.len(), meta.modified()?);
            let path = e.path();
            let old_enough = SystemTime::now()
                .duration_since(stamp.1)
                .unwrap_or_default()
                >= settle;
            if self.seen.get(&path) == Some(&stamp) && old_enough {
                let age = SystemTime::now()
                    .duration_since(stamp.1)
                    .unwrap_or_default();
                if age >= INCOMPLETE_GRACE || ends_with_trailer(&path)? {
                    ready.push(path.clone());
                }
            }
            now_seen.insert(path, stamp);
        }
        self.seen = now_seen;
        Ok(ready)
    }
}

/// The answers of a batch as kept on central, for a file already imported.
pub async fn stored_acks(pool: &PgPool, batch: Uuid) -> Result<Vec<(String, String)>, sqlx::Error> {
    sqlx::query_as(
        "SELECT kind, body FROM claimdesk.intake_ack WHERE batch_id = $1 ORDER BY created_at, kind",
    )
    .bind(batch)
    .fetch_all(pool)
    .await
}

/// Writes `acks` as `<stem>.<kind>` files in `dir` (answers of the same kind
/// from several interchanges one after the other). Returns the paths.
pub fn write_acks(
    dir: &Path,
    name: &str,
    acks: &[(String, String)],
) -> std::io::Result<Vec<PathBuf>> {
    let mut by_kind: Vec<(String, String)> = vec![];
    for (kind, body) in acks {
        match by_kind.iter_mut().find(|(k, _)| k == kind) {
            Some((_, text)) => text.push_str(body),
            None => by_kind.push((kind.clone(), body.clone())),
        }
    }
    let mut written = vec![];
    for (kind, text) in by_kind {
        let path = dir.join(format!("{name}.{kind}"));
        let tmp = dir.join(format!(".{name}.{kind}.tmp"));
        std::fs::write(&tmp, text)?;
        std::fs::rename(&tmp, &path)?;
        written.push(path);
    }
    Ok(written)
}

/// Whether anything of the file was taken: else it belongs in `rejected/`.
pub fn anything_taken(r: &IntakeReport) -> bool {
    r.already_imported.is_some() || r.sets_accepted > 0
}

/// Imports one ready file and moves it with its answers.
pub async fn process(
    pool: &PgPool,
    path: &Path,
    options: &IntakeOptions,
) -> Result<Processed, IntakeError> {
    let report = intake::intake_file(pool, path, options, |_, _| {}).await?;
    let acks = match report.already_imported {
        Some((batch, _)) => stored_acks(pool, batch).await?,
        None => report.acks.clone(),
    };
    let dir = path.parent().unwrap_or(Path::new("."));
    let dest = dir.join(if anything_taken(&report) {
        "done"
    } else {
        "rejected"
    });
    std::fs::create_dir_all(&dest)?;
    let name = path
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default();
    let mut target = dest.join(&name);
    if target.exists() {
        target = dest.join(format!(
            "{name}.{}",
            options.now.format("%Y%m%dT%H%M%S%.3f")
        ));
    }
    let stem = target
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default();
    write_acks(&dest, &stem, &acks)?;
    std::fs::rename(path, &target)?;
    Ok(Processed {
        moved_to: target,
        report,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_file_is_ready_once_it_stops_changing() {
        let dir = tempfile::tempdir().unwrap();
        let mut w = Watch::default();
        let f = dir.path().join("claims.837");
        std::fs::write(&f, "ISA").unwrap();
        std::fs::write(dir.path().join("upload.837.part"), "ISA").unwrap();
        assert!(
            w.ready(dir.path(), Duration::ZERO).unwrap().is_empty(),
            "first look: not yet known"
        );
        assert_eq!(
            w.ready(dir.path(), Duration::ZERO).unwrap(),
            vec![f.clone()]
        );
        std::fs::write(&f, "ISA*00").unwrap();
        assert!(
            w.ready(dir.path(), Duration::ZERO).unwrap().is_empty(),
            "it grew: wait again"
        );
        assert!(
            w.ready(dir.path(), Duration::from_secs(3600))
                .unwrap()
                .is_empty(),
            "too fresh"
        );
    }

    #[test]
    fn a_file_without_its_trailer_is_not_yet_complete() {
        let dir = tempfile::tempdir().unwrap();
        let isa = "ISA|00|          |00|          |ZZ|SENDER         |ZZ|RECEIVER       |261204|1200|^|00501|000000001|0|T|:!";
        let f = dir.path().join("claims.837");
        std::fs::write(&f, format!("{isa}GS|HC!ST|837|0001!")).unwrap();
        assert!(!ends_with_trailer(&f).unwrap(), "cut after ST");
        std::fs::write(
            &f,
            format!("{isa}GS|HC!SE|2|0001!GE|1|1!IEA|1|000000001!\r\n"),
        )
        .unwrap();
        assert!(
            ends_with_trailer(&f).unwrap(),
            "IEA last, with the file's own separators"
        );
        std::fs::write(&f, format!("{isa}GS|HC!IEA*1*000000001!")).unwrap();
        assert!(
            !ends_with_trailer(&f).unwrap(),
            "IEA with another element separator"
        );
        let mut w = Watch::default();
        std::fs::write(&f, format!("{isa}GS|HC!ST|837|0001!")).unwrap();
        w.ready(dir.path(), Duration::ZERO).unwrap();
        assert!(
            w.ready(dir.path(), Duration::ZERO).unwrap().is_empty(),
            "unchanged but cut short: waits for the rest"
        );
        std::fs::write(&f, b"\x00\x01garbage").unwrap();
        w.ready(dir.path(), Duration::ZERO).unwrap();
        assert_eq!(
            w.ready(dir.path(), Duration::ZERO).unwrap(),
            vec![f],
            "not X12: taken and answered"
        );
    }
}
