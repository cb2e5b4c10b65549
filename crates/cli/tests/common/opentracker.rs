//! opentracker as a local HTTP and UDP tracker. Debian's build serves only whitelisted
//! info-hashes, so the caller names them up front. It binds to 127.0.0.1 only.

use super::net::{free_port, wait_port_open};
use super::process::Proc;
use super::testdir::TestDir;
use super::wait::STARTUP_TIMEOUT;

/// A running opentracker.
pub struct Tracker {
    pub proc: Proc,
    pub port: u16,
}

impl Tracker {
    /// The HTTP announce URL.
    pub fn announce_url(&self) -> String {
        format!("http://127.0.0.1:{}/announce", self.port)
    }

    /// The UDP announce URL (BEP 15), served on the same port.
    pub fn udp_url(&self) -> String {
        format!("udp://127.0.0.1:{}", self.port)
    }
}

/// Starts opentracker for `info_hashes` (40 hex each) on TCP and UDP
/// 127.0.0.1:`port` (from [`free_port`], chosen before the torrent is made since
/// the announce URL goes into it); returns once it accepts connections.
pub fn start(dir: &TestDir, port: u16, info_hashes: &[String]) -> Tracker {
    let tracker_dir = dir.subdir("opentracker");
    let whitelist = tracker_dir.join("whitelist.txt");
    std::fs::write(&whitelist, info_hashes.join("\n") + "\n")
        .unwrap_or_else(|e| panic!("cannot write {}: {e}", whitelist.display()));
    // -d: opentracker chroots there (as root) before reading the whitelist.
    let args = crate::args![
        "-i",
        "127.0.0.1",
        "-p",
        port.to_string(),
        "-P",
        port.to_string(),
        "-d",
        &tracker_dir,
        "-w",
        "whitelist.txt",
    ];
    let mut proc = Proc::spawn(dir, "opentracker", "opentracker", args);
    if !wait_port_open(port, STARTUP_TIMEOUT) {
        panic!(
            "opentracker is not listening on port {port}\n{}",
            proc.log_tails()
        );
    }
    if let Some(status) = proc.try_exit() {
        panic!("opentracker exited: {status:?}\n{}", proc.log_tails());
    }
    Tracker { proc, port }
}
