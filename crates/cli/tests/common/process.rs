//! Real processes under test: stdout and stderr go to files in the test dir, reads
//! of their output are bounded in time, and a process still running when its
//! [`Proc`] is dropped is killed with SIGKILL and reaped, so a failing test leaves
//! no orphan behind. On failure the tail of each log is printed.

use std::cell::Cell;
use std::ffi::OsStr;
use std::fs::File;
use std::os::unix::process::ExitStatusExt;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, ExitStatus, Stdio};
use std::time::Duration;

use super::testdir::TestDir;
use super::wait::{poll_for, wait_until};

/// Lines of each log shown when a test fails.
const LOG_TAIL_LINES: usize = 40;

/// A spawned child process whose output is captured to `<label>.stdout` and
/// `<label>.stderr` in the test dir.
pub struct Proc {
    label: String,
    child: Child,
    stdout_path: PathBuf,
    stderr_path: PathBuf,
    exit: Option<ExitStatus>,
    /// Set once a failure message carried the log tails, so drop does not repeat them.
    tails_reported: Cell<bool>,
}

/// A process that ran to its end.
#[derive(Debug)]
pub struct Finished {
    pub status: ExitStatus,
    pub stdout: String,
    pub stderr: String,
}

impl Finished {
    /// The status, stdout and stderr, for assertion messages.
    pub fn describe(&self) -> String {
        format!(
            "{}\n--- stdout ---\n{}\n--- stderr ---\n{}",
            describe_status(self.status),
            self.stdout,
            self.stderr
        )
    }
}

/// "exit code N" or "killed by signal N".
pub fn describe_status(status: ExitStatus) -> String {
    match (status.code(), status.signal()) {
        (Some(code), _) => format!("exit code {code}"),
        (None, Some(signal)) => format!("killed by signal {signal}"),
        (None, None) => "unknown exit status".to_string(),
    }
}

impl Proc {
    /// Spawns `program args` with stdin closed and its working directory set to
    /// the test dir. `label` names the log files; it is made unique if taken.
    pub fn spawn<I, S>(dir: &TestDir, label: &str, program: impl AsRef<OsStr>, args: I) -> Proc
    where
        I: IntoIterator<Item = S>,
        S: AsRef<OsStr>,
    {
        let mut command = Command::new(program.as_ref());
        command.args(args);
        Proc::spawn_command(dir, label, command)
    }

    /// Spawns a prepared command (for extra environment), capturing its output.
    pub fn spawn_command(dir: &TestDir, label: &str, mut command: Command) -> Proc {
        let label = unique_label(dir.path(), label);
        let stdout_path = dir.join(&format!("{label}.stdout"));
        let stderr_path = dir.join(&format!("{label}.stderr"));
        let stdout = create_log(&stdout_path);
        let stderr = create_log(&stderr_path);
        command
            .current_dir(dir.path())
            .stdin(Stdio::null())
            .stdout(stdout)
            .stderr(stderr);
        let child = command
            .spawn()
            .unwrap_or_else(|e| panic!("cannot start {label} ({command:?}): {e}"));
        Proc {
            label,
            child,
            stdout_path,
            stderr_path,
            exit: None,
            tails_reported: Cell::new(false),
        }
    }

    pub fn label(&self) -> &str {
        &self.label
    }

    pub fn id(&self) -> u32 {
        self.child.id()
    }

    /// Everything written to stdout so far (invalid UTF-8 replaced).
    pub fn stdout(&self) -> String {
        read_lossy(&self.stdout_path)
    }

    /// Everything written to stderr so far (invalid UTF-8 replaced).
    pub fn stderr(&self) -> String {
        read_lossy(&self.stderr_path)
    }

    /// The exit status if the process has ended (reaping it), else `None`.
    pub fn try_exit(&mut self) -> Option<ExitStatus> {
        if self.exit.is_none() {
            match self.child.try_wait() {
                Ok(status) => self.exit = status,
                Err(e) => panic!("cannot poll {}: {e}", self.label),
            }
        }
        self.exit
    }

    /// Waits for the first complete stdout line matching `wanted` and returns it.
    /// Panics with the logs if the process exits first or `timeout` passes.
    pub fn wait_for_line(
        &mut self,
        timeout: Duration,
        what: &str,
        wanted: impl Fn(&str) -> bool,
    ) -> String {
        let mut exited = None;
        let found = poll_for(timeout, || {
            // Read the output before checking the exit, so a line printed just
            // before exiting is not missed.
            let text = self.stdout();
            let line = complete_lines(&text)
                .find(|line| wanted(line))
                .map(str::to_string);
            if line.is_none() {
                exited = self.try_exit();
                if exited.is_some() {
                    // Stop polling: the line can no longer appear.
                    return Some(None);
                }
            }
            line.map(Some)
        });
        match (found, exited) {
            (Some(Some(line)), _) => line,
            (_, Some(status)) => panic!(
                "{} exited ({}) before printing {what}\n{}",
                self.label,
                describe_status(status),
                self.log_tails()
            ),
            _ => panic!(
                "{} printed no {what} within {timeout:?}\n{}",
                self.label,
                self.log_tails()
            ),
        }
    }

    /// The first stdout line, waited for at most `timeout`.
    pub fn first_line(&mut self, timeout: Duration, what: &str) -> String {
        self.wait_for_line(timeout, what, |_| true)
    }

    /// Waits until the whole output (stdout and stderr; progress lines ending in
    /// `\r` included) satisfies `wanted`. Panics with the logs otherwise.
    pub fn wait_for_output(
        &mut self,
        timeout: Duration,
        what: &str,
        wanted: impl Fn(&str) -> bool,
    ) {
        let mut exited = None;
        let ok = wait_until(timeout, || {
            if wanted(&self.stdout()) || wanted(&self.stderr()) {
                return true;
            }
            exited = self.try_exit();
            exited.is_some()
        });
        if ok && exited.is_none() {
            return;
        }
        match exited {
            Some(status) => panic!(
                "{} exited ({}) before {what}\n{}",
                self.label,
                describe_status(status),
                self.log_tails()
            ),
            None => panic!(
                "{}: no {what} within {timeout:?}\n{}",
                self.label,
                self.log_tails()
            ),
        }
    }

    /// Waits for the process to exit; panics with the logs after `timeout`.
    pub fn wait_exit(&mut self, timeout: Duration) -> Finished {
        if !wait_until(timeout, || self.try_exit().is_some()) {
            panic!(
                "{} still running after {timeout:?}\n{}",
                self.label,
                self.log_tails()
            );
        }
        self.finished()
    }

    /// Waits for the process to exit and asserts it exited with code 0.
    pub fn wait_success(&mut self, timeout: Duration) -> Finished {
        let finished = self.wait_exit(timeout);
        assert!(
            finished.status.success(),
            "{} failed: {}\n{}",
            self.label,
            describe_status(finished.status),
            self.log_tails()
        );
        finished
    }

    /// SIGINT, as Ctrl-C sends it (the process is left to exit on its own).
    pub fn interrupt(&mut self) {
        if self.try_exit().is_none() {
            let _ = Command::new("kill")
                .args(["-INT", &self.id().to_string()])
                .status();
        }
    }

    /// SIGKILL and reap: what `kill -9` does, and what happens on drop.
    pub fn kill(&mut self) {
        if self.try_exit().is_none() {
            // An error here means it exited on its own meanwhile; wait reaps it either way.
            let _ = self.child.kill();
            match self.child.wait() {
                Ok(status) => self.exit = Some(status),
                Err(e) => eprintln!("cannot reap {}: {e}", self.label),
            }
        }
    }

    /// The last lines of stdout and stderr with the log paths, for failure messages.
    pub fn log_tails(&self) -> String {
        self.tails_reported.set(true);
        format!(
            "---- {} stdout, last lines (full log: {}) ----\n{}\n---- {} stderr, last lines (full log: {}) ----\n{}",
            self.label,
            self.stdout_path.display(),
            tail(&self.stdout(), LOG_TAIL_LINES),
            self.label,
            self.stderr_path.display(),
            tail(&self.stderr(), LOG_TAIL_LINES),
        )
    }

    fn finished(&self) -> Finished {
        Finished {
            status: self.exit.unwrap_or_else(|| ExitStatus::from_raw(-1)),
            stdout: self.stdout(),
            stderr: self.stderr(),
        }
    }
}

impl Drop for Proc {
    fn drop(&mut self) {
        self.kill();
        if std::thread::panicking() && !self.tails_reported.get() {
            eprintln!("{}", self.log_tails());
        }
    }
}

/// Runs a short command to its end with its output captured, killing it after
/// `timeout`. For small outputs only: the pipes are read after it exits.
pub fn output_within(
    mut command: Command,
    timeout: Duration,
) -> std::io::Result<std::process::Output> {
    command
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    let mut child = command.spawn()?;
    if !wait_until(timeout, || matches!(child.try_wait(), Ok(Some(_)))) {
        // Either it is hung or it exited just now; wait_with_output reaps it.
        let _ = child.kill();
    }
    child.wait_with_output()
}

/// Lines that end in `\n`, each also split at `\r` (progress redraws), trimmed.
fn complete_lines(text: &str) -> impl Iterator<Item = &str> {
    let complete = match text.rfind('\n') {
        Some(end) => &text[..end],
        None => "",
    };
    complete
        .split(['\n', '\r'])
        .map(str::trim)
        .filter(|line| !line.is_empty())
}

fn tail(text: &str, lines: usize) -> String {
    let all: Vec<&str> = text
        .split(['\n', '\r'])
        .filter(|l| !l.trim().is_empty())
        .collect();
    let start = all.len().saturating_sub(lines);
    all[start..].join("\n")
}

fn read_lossy(path: &Path) -> String {
    match std::fs::read(path) {
        Ok(bytes) => String::from_utf8_lossy(&bytes).into_owned(),
        Err(_) => String::new(),
    }
}

fn create_log(path: &Path) -> File {
    File::create(path).unwrap_or_else(|e| panic!("cannot create log {}: {e}", path.display()))
}

fn unique_label(dir: &Path, label: &str) -> String {
    let mut candidate = label.to_string();
    let mut n = 2;
    while dir.join(format!("{candidate}.stdout")).exists() {
        candidate = format!("{label}-{n}");
        n += 1;
    }
    candidate
}
