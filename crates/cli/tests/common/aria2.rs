//! aria2 (`aria2c`) as a reference peer. aria2 cannot be handed a peer address,
//! so as a seed it only listens (the test dials its port) and as a downloader it
//! needs a tracker. DHT, LPD and PEX are off and it binds to 127.0.0.1.

use std::ffi::OsString;
use std::path::Path;

use super::net::{free_port, loopback};
use super::process::Proc;
use super::testdir::TestDir;
use super::wait::STARTUP_TIMEOUT;

/// A running aria2c.
pub struct Aria2 {
    pub proc: Proc,
    pub port: u16,
}

impl Aria2 {
    pub fn addr(&self) -> String {
        loopback(self.port)
    }
}

fn common_args(port: u16) -> Vec<OsString> {
    crate::args![
        "--no-conf=true",
        format!("--listen-port={port}"),
        "--interface=127.0.0.1",
        "--disable-ipv6=true",
        "--enable-dht=false",
        "--enable-dht6=false",
        "--bt-enable-lpd=false",
        "--enable-peer-exchange=false",
        "--console-log-level=notice",
        "--summary-interval=1",
        "--allow-overwrite=true",
        "--auto-file-renaming=false",
    ]
}

/// aria2's options for Message Stream Encryption with RC4 only, both directions.
pub const REQUIRE_RC4: &[&str] = &["--bt-require-crypto=true", "--bt-min-crypto-level=arc4"];

/// Seeds `torrent` from the files under `data_dir` (checked first) until
/// dropped. Returns once aria2 reports it is listening.
pub fn seed(dir: &TestDir, torrent: &Path, data_dir: &Path) -> Aria2 {
    seed_with(dir, torrent, data_dir, &[])
}

/// [`seed`] with extra aria2c options.
pub fn seed_with(dir: &TestDir, torrent: &Path, data_dir: &Path, extra: &[&str]) -> Aria2 {
    let port = free_port();
    let mut args = common_args(port);
    args.extend(extra.iter().map(OsString::from));
    args.extend(crate::args![
        "--dir",
        data_dir,
        "--check-integrity=true",
        "--bt-seed-unverified=false",
        "--seed-ratio=0.0", // seed until killed
        torrent,
    ]);
    let mut proc = Proc::spawn(dir, "aria2-seed", "aria2c", args);
    proc.wait_for_output(STARTUP_TIMEOUT, "aria2 listening", |out| {
        out.contains("listening on TCP port")
    });
    Aria2 { proc, port }
}

/// Downloads `torrent` into `out_dir` and exits 0 once complete
/// (`--seed-time=0`). It finds peers only through the torrent's tracker.
pub fn get(dir: &TestDir, torrent: &Path, out_dir: &Path) -> Proc {
    get_with(dir, torrent, out_dir, &[])
}

/// [`get`] with extra aria2c options.
pub fn get_with(dir: &TestDir, torrent: &Path, out_dir: &Path, extra: &[&str]) -> Proc {
    let mut args = common_args(free_port());
    args.extend(extra.iter().map(OsString::from));
    args.extend(crate::args!["--dir", out_dir, "--seed-time=0", torrent]);
    Proc::spawn(dir, "aria2-get", "aria2c", args)
}
