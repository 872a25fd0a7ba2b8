//! Structured logging: JSON lines to a daily-rotated file in the OS log
//! directory, and a compact human format to stderr.
//!
//! PHI never goes into a log. Values that could carry it travel wrapped in
//! [`crate::Secret`], whose `Debug` is masked, and sqlx statement logging is
//! turned off at the connection (see `central`), because SQL text may embed
//! literals.

use std::path::Path;

use tracing_appender::non_blocking::WorkerGuard;
use tracing_appender::rolling::{RollingFileAppender, Rotation};
use tracing_subscriber::layer::SubscriberExt;
use tracing_subscriber::util::SubscriberInitExt;
use tracing_subscriber::{fmt, EnvFilter, Layer};

/// Environment variable with a `tracing` filter, e.g. `claimdesk=debug`.
pub const FILTER_ENV: &str = "CLAIMDESK_LOG";

/// Log files kept before the oldest is deleted (one per day).
const KEEP_FILES: usize = 14;

/// Keeps the background log writer alive; drop it last, at exit, to flush.
#[must_use = "dropping the guard stops file logging"]
pub struct LogGuard {
    _file: Option<WorkerGuard>,
}

/// Starts logging for one program (`app` or `admin`): the file name prefix
/// tells them apart in the shared log directory.
///
/// If the log directory cannot be created the program still runs, logging
/// to stderr only, and says so: losing logs must not stop claims work.
pub fn init(log_dir: &Path, program: &str) -> LogGuard {
    let filter = || {
        EnvFilter::try_from_env(FILTER_ENV)
            .unwrap_or_else(|_| EnvFilter::new("info,sqlx=warn,tao=warn,wry=warn"))
    };
    let stderr = fmt::layer()
        .compact()
        .with_writer(std::io::stderr)
        .with_filter(filter());

    match open_appender(log_dir, program) {
        Ok(appender) => {
            let (writer, guard) = tracing_appender::non_blocking(appender);
            let file = fmt::layer()
                .json()
                .with_writer(writer)
                .with_ansi(false)
                .with_filter(filter());
            let _ = tracing_subscriber::registry()
                .with(stderr)
                .with(file)
                .try_init();
            LogGuard { _file: Some(guard) }
        }
        Err(error) => {
            let _ = tracing_subscriber::registry().with(stderr).try_init();
            tracing::warn!(%error, dir = %log_dir.display(), "file logging disabled");
            LogGuard { _file: None }
        }
    }
}

/// The daily-rotated file for one program, creating the directory first.
fn open_appender(log_dir: &Path, program: &str) -> Result<RollingFileAppender, String> {
    std::fs::create_dir_all(log_dir).map_err(|e| e.to_string())?;
    RollingFileAppender::builder()
        .rotation(Rotation::DAILY)
        .filename_prefix(format!("claimdesk-{program}"))
        .filename_suffix("log")
        .max_log_files(KEEP_FILES)
        .build(log_dir)
        .map_err(|e| e.to_string())
}

/// Replaces the default panic output, which prints the panic message, with
/// one that records only where the panic happened. A message could quote PHI
/// that some future code formats carelessly; the location is enough to fix it.
pub fn install_panic_hook() {
    std::panic::set_hook(Box::new(|info| {
        let location = info
            .location()
            .map(|l| format!("{}:{}", l.file(), l.line()))
            .unwrap_or_else(|| "unknown location".into());
        tracing::error!(%location, "panic (message withheld: it may contain PHI)");
        eprintln!("ClaimDesk hit an internal error at {location}. Details are in the log.");
    }));
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_unusable_log_dir_is_reported_not_fatal() {
        // A file where the directory should be.
        let file = tempfile::NamedTempFile::new().unwrap();
        assert!(open_appender(&file.path().join("logs"), "app").is_err());
        let dir = tempfile::tempdir().unwrap();
        assert!(open_appender(&dir.path().join("nested/logs"), "app").is_ok());
    }
}
