//! Exit codes (documented in `shoal --help`) and the one-line error report.

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
    let code = error.downcast_ref::<Failure>().map_or(1, |f| f.code);
    let message = one_line(&error);
    eprintln!("shoal: error: {message}");
    ExitCode::from(code)
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
    fn failures_keep_their_exit_code() {
        let e: anyhow::Error = Failure::incomplete("stalled").into();
        assert_eq!(e.downcast_ref::<Failure>().map(|f| f.code), Some(3));
    }
}
