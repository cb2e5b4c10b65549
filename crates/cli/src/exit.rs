//! Exit codes (documented in `shoal --help`) and the one-line error report.

use shoal_session::{StorageError, TorrentError};
use std::io;
use std::process::ExitCode;

/// Printed at the end of `shoal --help`.
pub const EXIT_CODES_HELP: &str = "\
Exit codes:
  0    success (share/seed: stopped with Ctrl-C)
  1    error: bad input, unreadable torrent, file or network I/O, disk full
  2    usage error (unknown command, bad flag or value)
  3    get could not complete: no download progress for --timeout seconds
  130  interrupted (Ctrl-C or SIGTERM) before the download completed

Logging: -v, -vv, -vvv or RUST_LOG (e.g. RUST_LOG=shoal_session=debug) for logs on stderr.";

/// A command that finished without error.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Outcome {
    Done,
    /// Stopped by a signal before it finished its job.
    Interrupted,
}

impl Outcome {
    pub fn exit_code(self) -> ExitCode {
        match self {
            Outcome::Done => ExitCode::SUCCESS,
            Outcome::Interrupted => ExitCode::from(130),
        }
    }
}

/// An error that maps to an exit code other than 1.
#[derive(Debug, thiserror::Error)]
#[error("{message}")]
pub struct Failure {
    pub code: u8,
    pub message: String,
}

impl Failure {
    /// Exit 3: the download cannot go on.
    pub fn incomplete(message: impl Into<String>) -> Failure {
        Failure {
            code: 3,
            message: message.into(),
        }
    }
}

/// Prints `shoal: error: ...` on one line and returns the matching exit code.
pub fn report(error: anyhow::Error) -> ExitCode {
    let code = exit_code(&error);
    let message = disk_words(&error).map_or_else(|| one_line(&error), |w| w.replace('\n', " "));
    eprintln!("shoal: error: {message}");
    ExitCode::from(code)
}

/// 1 unless the error says otherwise (see [`EXIT_CODES_HELP`]).
fn exit_code(error: &anyhow::Error) -> u8 {
    error.downcast_ref::<Failure>().map_or(1, |f| f.code)
}

/// Words of our own for the disk failures a user can fix, chosen from the typed error that
/// stopped the torrent: what happened, to which file, and what to do. Data already written
/// is verified, so running the command again resumes where it stopped.
fn disk_words(error: &anyhow::Error) -> Option<String> {
    let storage = error.chain().find_map(|cause| {
        cause
            .downcast_ref::<TorrentError>()
            .and_then(TorrentError::storage)
    })?;
    match storage {
        StorageError::DiskFull { path, source } => {
            let what = if source.kind() == io::ErrorKind::QuotaExceeded {
                "disk quota exceeded"
            } else {
                "disk full"
            };
            Some(format!(
                "{what}: could not write {}; free some space (or choose another folder) and \
                 run the same command again: the pieces already written are kept",
                path.display()
            ))
        }
        StorageError::Io {
            action,
            path,
            source,
        } if source.kind() == io::ErrorKind::PermissionDenied => Some(format!(
            "permission denied: cannot {action} {}; check its permissions or choose another folder",
            path.display()
        )),
        _ => None,
    }
}

/// The error and its causes joined with ": ", skipping a cause whose text the message
/// already contains (many errors print their source themselves).
fn one_line(error: &anyhow::Error) -> String {
    let mut message = String::new();
    for cause in error.chain() {
        let text = cause.to_string();
        if message.contains(&text) {
            continue;
        }
        if !message.is_empty() {
            message.push_str(": ");
        }
        message.push_str(&text);
    }
    message.replace('\n', " ")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn causes_are_joined_once_on_one_line() {
        let io = std::io::Error::other("disk on fire");
        let e = anyhow::Error::new(io).context("cannot write x\ny");
        assert_eq!(one_line(&e), "cannot write x y: disk on fire");
        let repeated = anyhow::anyhow!("inner").context("outer: inner");
        assert_eq!(one_line(&repeated), "outer: inner");
    }

    #[test]
    fn a_full_disk_gets_its_own_words_and_exit_code_1() {
        let full = StorageError::io(
            "write",
            std::path::Path::new("/dl/t/a.bin"),
            io::Error::from_raw_os_error(28),
        );
        let e: anyhow::Error = TorrentError::from(full).into();
        let words = disk_words(&e).unwrap();
        assert!(
            words.starts_with("disk full: could not write /dl/t/a.bin; free some space"),
            "{words}"
        );
        assert!(
            !words.contains('\n') && !words.contains("os error"),
            "{words}"
        );
        assert_eq!(exit_code(&e), 1);
    }

    #[test]
    fn other_disk_errors_keep_the_storage_message() {
        let gone = StorageError::io(
            "read",
            std::path::Path::new("/dl/x"),
            io::Error::from(io::ErrorKind::NotFound),
        );
        let e: anyhow::Error = TorrentError::from(gone).into();
        assert_eq!(disk_words(&e), None);
        assert!(one_line(&e).starts_with("cannot read /dl/x: "));
    }

    #[test]
    fn failures_keep_their_exit_code() {
        let e: anyhow::Error = Failure::incomplete("stalled").into();
        assert_eq!(exit_code(&e), 3);
    }
}
