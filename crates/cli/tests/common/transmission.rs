//! Transmission 3.00 (`transmission-cli`) as a reference peer.
//!
//! Each instance gets a private config dir (`-g`) whose settings.json turns off
//! DHT, LPD, PEX, uTP, port mapping and RPC, and binds the peer port to
//! 127.0.0.1, so parallel tests cannot meet. Transmission never dials peers on
//! 127.0.0.0/8 ("martian" addresses), but it accepts incoming loopback
//! connections: in both directions the other side dials Transmission's port.
//! Encryption stays at Transmission's default, "preferred", which still accepts
//! plaintext peers.
//! transmission-cli keeps running after a download completes; it is stopped by
//! dropping its [`Proc`].

use std::path::Path;

use super::net::{free_port, loopback};
use super::process::Proc;
use super::testdir::TestDir;
use super::wait::STARTUP_TIMEOUT;

/// A running transmission-cli.
pub struct Transmission {
    pub proc: Proc,
    pub port: u16,
}

impl Transmission {
    /// The address other peers dial: Transmission will not dial them.
    pub fn addr(&self) -> String {
        loopback(self.port)
    }

    /// Waits until the torrent is running (checked, ready for peers).
    pub fn wait_running(&mut self) {
        self.proc.wait_for_output(
            STARTUP_TIMEOUT,
            "torrent running (a Progress line)",
            |out| out.contains("Progress:") || out.contains("Seeding"),
        );
    }

    /// Waits until Transmission has checked the data and is seeding it.
    pub fn wait_seeding(&mut self) {
        self.proc
            .wait_for_output(STARTUP_TIMEOUT, "`Seeding` status", |out| {
                out.contains("Seeding")
            });
    }
}

/// Starts transmission-cli on `source` (a .torrent path or a magnet link) with
/// `download_dir` as its download directory: give it the data there to seed, or
/// an empty directory to download into (files land in `download_dir/<name>`).
pub fn start(dir: &TestDir, label: &str, source: &str, download_dir: &Path) -> Transmission {
    let port = free_port();
    let config_dir = dir.subdir(&format!("{label}-config"));
    let settings = config_dir.join("settings.json");
    std::fs::write(&settings, settings_json(port))
        .unwrap_or_else(|e| panic!("cannot write {}: {e}", settings.display()));
    let args = crate::args![
        "-g",
        config_dir,
        "-w",
        download_dir,
        "-p",
        port.to_string(),
        source,
    ];
    let proc = Proc::spawn(dir, label, "transmission-cli", args);
    Transmission { proc, port }
}

fn settings_json(port: u16) -> String {
    format!(
        r#"{{
    "bind-address-ipv4": "127.0.0.1",
    "bind-address-ipv6": "::1",
    "blocklist-enabled": false,
    "dht-enabled": false,
    "download-queue-enabled": false,
    "encryption": 1,
    "lpd-enabled": false,
    "message-level": 2,
    "peer-port": {port},
    "peer-port-random-on-start": false,
    "pex-enabled": false,
    "port-forwarding-enabled": false,
    "ratio-limit-enabled": false,
    "rename-partial-files": false,
    "rpc-enabled": false,
    "speed-limit-down-enabled": false,
    "speed-limit-up-enabled": false,
    "start-added-torrents": true,
    "utp-enabled": false
}}
"#
    )
}
