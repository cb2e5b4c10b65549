//! Where the reference clients live, and what happens when one is missing:
//! under CI (`CI` set to anything but `false`/`0`) the test fails, elsewhere it is
//! skipped with a loud message. `scripts/install-test-deps.sh` installs them all.

use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::sync::OnceLock;

/// Debian's python: a pyenv python3 earlier on PATH cannot import Debian's libtorrent.
pub const DEBIAN_PYTHON: &str = "/usr/bin/python3";

/// A reference client the tests drive.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Tool {
    /// python3-libtorrent, driven by tests/interop/lt_client.py.
    Libtorrent,
    /// transmission-daemon and transmission-remote 3.00.
    Transmission,
    /// aria2c.
    Aria2,
    /// mktorrent, a second torrent maker.
    Mktorrent,
    /// opentracker, a BitTorrent tracker.
    Opentracker,
    /// A home router: miniupnpd (nftables backend), upnpc and nft.
    Router,
}

impl Tool {
    /// A command that succeeds only if the tool is usable.
    fn probe(self) -> (&'static str, &'static [&'static str]) {
        match self {
            Tool::Libtorrent => (DEBIAN_PYTHON, &["-c", "import libtorrent"]),
            Tool::Transmission => (
                "sh",
                &[
                    "-c",
                    "command -v transmission-daemon && command -v transmission-remote",
                ],
            ),
            Tool::Aria2 => ("aria2c", &["--version"]),
            Tool::Mktorrent => ("sh", &["-c", "command -v mktorrent"]),
            Tool::Opentracker => ("sh", &["-c", "command -v opentracker"]),
            Tool::Router => (
                "sh",
                &[
                    "-c",
                    "command -v miniupnpd && command -v upnpc && command -v nft",
                ],
            ),
        }
    }

    fn available(self) -> bool {
        static CACHE: [OnceLock<bool>; 6] = [const { OnceLock::new() }; 6];
        *CACHE[self as usize].get_or_init(|| {
            let (program, args) = self.probe();
            Command::new(program)
                .args(args)
                .stdin(Stdio::null())
                .stdout(Stdio::null())
                .stderr(Stdio::null())
                .status()
                .map(|s| s.success())
                .unwrap_or(false)
        })
    }
}

/// True when running under CI, where a missing reference client is a failure.
pub fn in_ci() -> bool {
    std::env::var("CI")
        .map(|v| !v.is_empty() && v != "false" && v != "0")
        .unwrap_or(false)
}

/// Whether the test may go on with `tools`. Panics under CI if one is missing;
/// elsewhere prints a loud message and returns false so the test can return early.
pub fn require(tools: &[Tool]) -> bool {
    let missing: Vec<Tool> = tools.iter().copied().filter(|t| !t.available()).collect();
    if missing.is_empty() {
        return true;
    }
    let message = format!(
        "reference client(s) {missing:?} not installed: run `bash scripts/install-test-deps.sh`"
    );
    if in_ci() {
        panic!("{message} (CI must run every interop test)");
    }
    shout(&format!("!!!!!!!! SKIPPED: {message} !!!!!!!!\n"));
    false
}

/// Prints past the test harness's output capture, which would hide a skip:
/// straight to stderr (cargo test captures only the print macros) and to the
/// terminal if there is one (nextest keeps a passing test's stderr to itself).
fn shout(message: &str) {
    // Best effort: a skip notice that cannot be written changes nothing else.
    let _ = std::io::stderr().write_all(message.as_bytes());
    if let Ok(mut tty) = std::fs::OpenOptions::new().write(true).open("/dev/tty") {
        let _ = tty.write_all(message.as_bytes());
    }
}

/// The workspace root (the directory holding `tests/interop`).
pub fn workspace_root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../..")
}

/// A helper script under `tests/interop`.
pub fn interop_script(name: &str) -> PathBuf {
    workspace_root().join("tests/interop").join(name)
}
