//! Transmission 3.00 as a reference peer: `transmission-daemon` in the
//! foreground, driven with `transmission-remote`.
//!
//! Each instance gets a private config dir (`-g`) whose settings.json turns off
//! DHT, LPD, PEX, uTP and port mapping, and binds the peer port and the RPC port
//! to 127.0.0.1, so parallel tests cannot meet. Encryption stays at
//! Transmission's default, "preferred", which still accepts plaintext peers, unless
//! started with [`start_encryption_required`] (transmission-cli's `-er`).
//!
//! Transmission never dials peers on 127.0.0.0/8 ("martian" addresses), but it
//! accepts incoming loopback connections: in both directions the other side
//! dials Transmission's peer port.
//!
//! Not transmission-cli: it quits when it sees its torrent stopped, which
//! happens for a moment after a magnet's metadata arrives.

use std::path::Path;
use std::process::Command;
use std::time::Duration;

use super::data::tree_difference;
use super::net::{free_port, loopback, wait_port_open};
use super::process::{describe_status, output_within, Proc};
use super::testdir::TestDir;
use super::wait::{poll_for, wait_until, QUICK_TIMEOUT, STARTUP_TIMEOUT, TRANSFER_TIMEOUT};

const STATUS_POLL: Duration = Duration::from_millis(300);

/// A running transmission-daemon holding one torrent.
pub struct Transmission {
    pub proc: Proc,
    /// The peer port.
    pub port: u16,
    rpc_port: u16,
}

impl Transmission {
    /// The address other peers dial: Transmission will not dial them.
    pub fn addr(&self) -> String {
        loopback(self.port)
    }

    /// `transmission-remote -t 1 -i`: the torrent's details, or the error.
    pub fn details(&self) -> String {
        self.remote(&["-t", "1", "-i"])
            .unwrap_or_else(|error| format!("transmission-remote failed: {error}"))
    }

    /// Waits until the torrent is checked and ready for peers (no longer
    /// verifying or queued; a magnet may still lack its metadata).
    pub fn wait_running(&mut self) {
        self.wait_state("ready for peers", |state, _| {
            state == "Idle" || state == "Downloading" || state == "Seeding"
        });
    }

    /// Waits until Transmission has checked all the data and is seeding it.
    pub fn wait_seeding(&mut self) {
        self.wait_state("seeding", |state, done| {
            done == "100%" && (state == "Idle" || state == "Seeding")
        });
    }

    /// Polls `State:` and `Percent Done:` of the torrent until `ready` holds.
    fn wait_state(&mut self, what: &str, ready: impl Fn(&str, &str) -> bool) {
        let mut last = String::new();
        let found = poll_for(STARTUP_TIMEOUT, || {
            std::thread::sleep(STATUS_POLL);
            if self.proc.try_exit().is_some() {
                return Some(false);
            }
            last = self.details();
            let state = field(&last, "State:");
            let done = field(&last, "Percent Done:");
            ready(state, done).then_some(true)
        });
        if found != Some(true) {
            panic!(
                "Transmission is not {what} within {STARTUP_TIMEOUT:?}; last status:\n{last}\n{}",
                self.proc.log_tails()
            );
        }
    }

    /// Waits until Transmission's download at `actual` equals `expected` byte
    /// for byte; panics with its status and logs if it does not within
    /// [`TRANSFER_TIMEOUT`] or the daemon exits.
    pub fn wait_download(&mut self, expected: &Path, actual: &Path) {
        wait_until(TRANSFER_TIMEOUT, || {
            tree_difference(expected, actual).is_none() || self.proc.try_exit().is_some()
        });
        if let Some(difference) = tree_difference(expected, actual) {
            let why = match self.proc.try_exit() {
                Some(status) => format!("transmission-daemon exited ({})", describe_status(status)),
                None => format!("not within {TRANSFER_TIMEOUT:?}"),
            };
            panic!(
                "Transmission did not complete the download ({why}): {difference}\n{}\n{}",
                self.details(),
                self.proc.log_tails()
            );
        }
    }

    fn remote(&self, args: &[&str]) -> Result<String, String> {
        let mut command = Command::new("transmission-remote");
        command.arg(loopback(self.rpc_port)).args(args);
        let output = output_within(command, QUICK_TIMEOUT).map_err(|e| e.to_string())?;
        let stdout = String::from_utf8_lossy(&output.stdout).into_owned();
        if output.status.success() {
            Ok(stdout)
        } else {
            Err(format!(
                "{stdout}{}",
                String::from_utf8_lossy(&output.stderr)
            ))
        }
    }
}

/// The value after `label` on its line of `transmission-remote -i` output.
fn field<'a>(details: &'a str, label: &str) -> &'a str {
    details
        .lines()
        .find_map(|line| line.trim().strip_prefix(label))
        .map_or("", str::trim)
}

/// Starts transmission-daemon with `download_dir` as its download directory and
/// adds `source` (a .torrent path or a magnet link): give it the data there to
/// seed, or an empty directory to download into (files land in
/// `download_dir/<name>`). Returns once the torrent is added.
pub fn start(dir: &TestDir, label: &str, source: &str, download_dir: &Path) -> Transmission {
    start_with(dir, label, source, download_dir, PREFERRED)
}

/// settings.json's `encryption`: 1 prefers encrypted peers and accepts plaintext ones.
const PREFERRED: u8 = 1;
/// 2 requires encryption: RC4 only, plaintext peers refused, both directions.
const REQUIRED: u8 = 2;

/// [`start`] with encryption required (RC4 only).
pub fn start_encryption_required(
    dir: &TestDir,
    label: &str,
    source: &str,
    download_dir: &Path,
) -> Transmission {
    start_with(dir, label, source, download_dir, REQUIRED)
}

fn start_with(
    dir: &TestDir,
    label: &str,
    source: &str,
    download_dir: &Path,
    encryption: u8,
) -> Transmission {
    let port = free_port();
    let rpc_port = free_port();
    let config_dir = dir.subdir(&format!("{label}-config"));
    let settings = config_dir.join("settings.json");
    std::fs::write(
        &settings,
        settings_json(port, rpc_port, download_dir, encryption),
    )
    .unwrap_or_else(|e| panic!("cannot write {}: {e}", settings.display()));
    // stdbuf: the daemon's log lines would otherwise sit in a buffer that
    // SIGKILL throws away, just when a failing test needs them.
    let args = crate::args![
        "-oL",
        "-eL",
        "transmission-daemon",
        "--foreground",
        "--config-dir",
        config_dir,
        "--log-debug",
    ];
    let proc = Proc::spawn(dir, label, "stdbuf", args);
    if !wait_port_open(rpc_port, STARTUP_TIMEOUT) {
        panic!(
            "transmission-daemon opened no RPC port {rpc_port}\n{}",
            proc.log_tails()
        );
    }
    let transmission = Transmission {
        proc,
        port,
        rpc_port,
    };
    if let Err(error) = transmission.remote(&["--add", source]) {
        panic!(
            "transmission-remote --add {source} failed: {error}\n{}",
            transmission.proc.log_tails()
        );
    }
    transmission
}

fn settings_json(port: u16, rpc_port: u16, download_dir: &Path, encryption: u8) -> String {
    let download_dir = download_dir
        .to_string_lossy()
        .replace('\\', "\\\\")
        .replace('"', "\\\"");
    format!(
        r#"{{
    "bind-address-ipv4": "127.0.0.1",
    "bind-address-ipv6": "::1",
    "blocklist-enabled": false,
    "dht-enabled": false,
    "download-dir": "{download_dir}",
    "download-queue-enabled": false,
    "encryption": {encryption},
    "incomplete-dir-enabled": false,
    "lpd-enabled": false,
    "peer-port": {port},
    "peer-port-random-on-start": false,
    "pex-enabled": false,
    "port-forwarding-enabled": false,
    "ratio-limit-enabled": false,
    "rename-partial-files": false,
    "rpc-authentication-required": false,
    "rpc-bind-address": "127.0.0.1",
    "rpc-enabled": true,
    "rpc-host-whitelist-enabled": false,
    "rpc-port": {rpc_port},
    "rpc-whitelist": "127.0.0.1",
    "rpc-whitelist-enabled": true,
    "speed-limit-down-enabled": false,
    "speed-limit-up-enabled": false,
    "start-added-torrents": true,
    "utp-enabled": false,
    "watch-dir-enabled": false
}}
"#
    )
}
