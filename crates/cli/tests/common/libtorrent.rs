//! libtorrent as a reference peer, through tests/interop/lt_client.py run by
//! Debian's python. The script prints `listening 127.0.0.1:PORT`, then `seeding`
//! (seed mode) or `complete` (get mode, then exits 0).

use std::ffi::OsString;
use std::path::Path;

use super::json::json_leaves;
use super::net::loopback;
use super::process::Proc;
use super::testdir::TestDir;
use super::tools::{interop_script, DEBIAN_PYTHON};
use super::wait::{QUICK_TIMEOUT, STARTUP_TIMEOUT};

/// What libtorrent downloads: a .torrent file or a magnet link.
pub enum Source<'a> {
    Torrent(&'a Path),
    Magnet(&'a str),
}

impl Source<'_> {
    fn args(&self) -> Vec<OsString> {
        match self {
            Source::Torrent(path) => crate::args!["--torrent", path],
            Source::Magnet(link) => crate::args!["--magnet", link],
        }
    }
}

/// A running libtorrent seed.
pub struct Seed {
    pub proc: Proc,
    pub port: u16,
}

impl Seed {
    pub fn addr(&self) -> String {
        loopback(self.port)
    }
}

/// Options for [`seed`].
#[derive(Default)]
pub struct SeedOptions {
    /// Peers libtorrent dials (and re-dials while none is connected).
    pub peers: Vec<String>,
    /// Upload cap in bytes per second (0 = none), loopback included.
    pub upload_limit: u64,
    /// lt_client's `--encryption` mode (`None`: its default, plaintext dials).
    pub encryption: Option<&'static str>,
    /// lt_client's `--transport` (`None`: its default, TCP only).
    pub transport: Option<&'static str>,
    /// lt_client's `--host`, the one address it listens on (`None`: 127.0.0.1).
    pub host: Option<&'static str>,
}

/// `lt_client.py ARGS` (tests/interop/lt_client.py) started in the background.
pub fn lt_client(dir: &TestDir, label: &str, args: Vec<OsString>) -> Proc {
    let mut all = crate::args![interop_script("lt_client.py")];
    all.extend(args);
    Proc::spawn(dir, label, DEBIAN_PYTHON, all)
}

/// Seeds `torrent` from the files under `data_dir` (libtorrent's save path:
/// the torrent's name is looked up inside it). Returns once the data is checked
/// and libtorrent is listening.
pub fn seed(dir: &TestDir, torrent: &Path, data_dir: &Path, options: SeedOptions) -> Seed {
    let mut args = crate::args![
        "seed",
        "--torrent",
        torrent,
        "--data",
        data_dir,
        "--timeout",
        "600"
    ];
    if options.upload_limit > 0 {
        args.extend(crate::args![
            "--upload-limit",
            options.upload_limit.to_string()
        ]);
    }
    for peer in &options.peers {
        args.extend(crate::args!["--peer", peer]);
    }
    if let Some(mode) = options.encryption {
        args.extend(crate::args!["--encryption", mode]);
    }
    if let Some(transport) = options.transport {
        args.extend(crate::args!["--transport", transport]);
    }
    if let Some(host) = options.host {
        args.extend(crate::args!["--host", host]);
    }
    let mut proc = lt_client(dir, "libtorrent-seed", args);
    let port = listening_port(&mut proc);
    proc.wait_for_line(STARTUP_TIMEOUT, "`seeding`", |line| line == "seeding");
    Seed { proc, port }
}

/// Starts a libtorrent download of `source` into `save_dir`, dialling `peers`.
/// Wait for it with `wait_success(TRANSFER_TIMEOUT)`: it exits 0 once complete.
pub fn get(dir: &TestDir, source: Source<'_>, save_dir: &Path, peers: &[String]) -> Proc {
    get_encrypted(dir, source, save_dir, peers, "disabled")
}

/// [`get`] with lt_client's `--encryption` mode (see tests/interop/lt_client.py).
pub fn get_encrypted(
    dir: &TestDir,
    source: Source<'_>,
    save_dir: &Path,
    peers: &[String],
    encryption: &str,
) -> Proc {
    get_with(dir, source, save_dir, peers, encryption, "tcp")
}

/// [`get`] with lt_client's `--encryption` mode and `--transport` (tcp, utp or both).
pub fn get_with(
    dir: &TestDir,
    source: Source<'_>,
    save_dir: &Path,
    peers: &[String],
    encryption: &str,
    transport: &str,
) -> Proc {
    let mut args = crate::args![
        "get",
        "--transport",
        transport,
        "--save",
        save_dir,
        "--timeout",
        "300",
        "--encryption",
        encryption
    ];
    args.extend(source.args());
    for peer in peers {
        args.extend(crate::args!["--peer", peer]);
    }
    lt_client(dir, "libtorrent-get", args)
}

/// The port printed on the `listening 127.0.0.1:PORT` line.
pub fn listening_port(proc: &mut Proc) -> u16 {
    let line = proc.wait_for_line(STARTUP_TIMEOUT, "`listening` line", |line| {
        line.starts_with("listening ")
    });
    line.rsplit(':')
        .next()
        .and_then(|port| port.parse().ok())
        .unwrap_or_else(|| panic!("bad listening line from lt_client: {line:?}"))
}

/// What libtorrent reads from `source`, as `(path, json value)` leaves of
/// `lt_client.py info`: info_hash, name, piece_length, num_pieces, total_size,
/// private, files.N.path, files.N.size (torrents); info_hash, name, trackers,
/// peers (magnets).
pub fn info(dir: &TestDir, source: Source<'_>) -> Vec<(String, String)> {
    let mut args = crate::args!["info"];
    args.extend(source.args());
    let finished = lt_client(dir, "libtorrent-info", args).wait_success(QUICK_TIMEOUT);
    json_leaves(dir, &finished.stdout)
}

/// The v1 info-hash (40 lowercase hex) libtorrent computes for `source`.
pub fn info_hash(dir: &TestDir, source: Source<'_>) -> String {
    let leaves = info(dir, source);
    leaves
        .iter()
        .find(|(path, _)| path == "info_hash")
        .map(|(_, value)| value.trim_matches('"').to_string())
        .unwrap_or_else(|| panic!("lt_client info printed no info_hash: {leaves:?}"))
}
