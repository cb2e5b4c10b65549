//! Running the `shoal` binary built for these tests.
//!
//! The CLI contract used here: `shoal create PATH -o FILE`, `shoal info SOURCE
//! [--json]`, `shoal share PATH --listen ADDR [--torrent-out FILE] [--peer ADDR]...`
//! (the magnet is the first stdout line, then it seeds until killed),
//! `shoal seed TORRENT --data DIR --listen ADDR [--peer ADDR]...`, and
//! `shoal get SOURCE -o DIR [--peer ADDR]... [--listen ADDR]` (exits 0 once the
//! data is complete and flushed, with the files under `DIR/<torrent name>`).
//! Every shoal here listens on 127.0.0.1 only.

use std::ffi::{OsStr, OsString};
use std::path::Path;
use std::process::Command;
use std::time::Duration;

use super::net::{free_port, loopback, wait_port_open};
use super::process::{Finished, Proc};
use super::testdir::TestDir;
use super::wait::{QUICK_TIMEOUT, STARTUP_TIMEOUT, TRANSFER_TIMEOUT};

/// The binary cargo built for this package's integration tests.
pub const SHOAL: &str = env!("CARGO_BIN_EXE_shoal");

/// Exit code of a Rust program that panicked.
pub const PANIC_EXIT_CODE: i32 = 101;

/// Log filter for shoal processes that move data, so a failing test's kept
/// logs show connections and disconnect reasons. `RUST_LOG` overrides it.
const TRANSFER_LOG_FILTER: &str = "debug";

/// Starts `shoal ARGS` in the background with debug logs on stderr (or the
/// caller's `RUST_LOG`).
pub fn spawn(dir: &TestDir, label: &str, args: Vec<OsString>) -> Proc {
    spawn_env(dir, label, args, &[])
}

/// Extra environment variables for a shoal process, e.g. `SSL_CERT_FILE` naming a test CA.
pub type Env<'a> = &'a [(&'a str, &'a OsStr)];

/// [`spawn`] with extra environment variables.
pub fn spawn_env(dir: &TestDir, label: &str, args: Vec<OsString>, env: Env) -> Proc {
    let mut command = Command::new(SHOAL);
    command.args(no_public_discovery(args));
    command.envs(env.iter().copied());
    if std::env::var_os("RUST_LOG").is_none() {
        command.env("RUST_LOG", TRANSFER_LOG_FILTER);
    }
    Proc::spawn_command(dir, label, command)
}

/// Starts `shoal ARGS` with `RUST_LOG` unset, so stderr holds only what a user
/// would see.
pub fn spawn_quiet(dir: &TestDir, label: &str, args: Vec<OsString>) -> Proc {
    let mut command = Command::new(SHOAL);
    command
        .args(no_public_discovery(args))
        .env_remove("RUST_LOG");
    Proc::spawn_command(dir, label, command)
}

/// `share`, `seed` and `get` turn the DHT (public routers), LSD (LAN multicast) and port
/// mapping (the machine's router) on by default; tests must not reach past loopback, so all
/// three are turned off here unless the test already chose (the DHT, LSD and port mapping
/// tests start their processes themselves).
fn no_public_discovery(mut args: Vec<OsString>) -> Vec<OsString> {
    // The subcommand is the first word that is not a flag: shoal's global flags (-v, -q)
    // take no value and may come before it.
    let subcommand = args.iter().find(|a| !a.to_string_lossy().starts_with('-'));
    let transfers = matches!(
        subcommand.and_then(|a| a.to_str()),
        Some("share" | "seed" | "get")
    );
    if transfers {
        for flag in ["--no-dht", "--no-lsd", "--no-port-mapping"] {
            if !args.iter().any(|a| a == flag) {
                args.push(OsString::from(flag));
            }
        }
        if args.iter().any(|a| a == "--port-mapping") {
            args.retain(|a| a != "--no-port-mapping");
        }
    }
    args
}

/// Runs `shoal ARGS` to its end (at most `timeout`) as [`spawn_quiet`] does.
pub fn run(dir: &TestDir, label: &str, args: Vec<OsString>, timeout: Duration) -> Finished {
    spawn_quiet(dir, label, args).wait_exit(timeout)
}

/// Runs `shoal ARGS` and asserts it exits 0.
pub fn run_ok(dir: &TestDir, label: &str, args: Vec<OsString>, timeout: Duration) -> Finished {
    run_ok_env(dir, label, args, timeout, &[])
}

/// [`run_ok`] with extra environment variables.
pub fn run_ok_env(
    dir: &TestDir,
    label: &str,
    args: Vec<OsString>,
    timeout: Duration,
    env: Env,
) -> Finished {
    let mut command = Command::new(SHOAL);
    command
        .args(no_public_discovery(args.clone()))
        .env_remove("RUST_LOG")
        .envs(env.iter().copied());
    let finished = Proc::spawn_command(dir, label, command).wait_exit(timeout);
    assert!(
        finished.status.success(),
        "shoal {} failed: {}",
        join_args(&args),
        finished.describe()
    );
    finished
}

/// `shoal create PATH -o TORRENT EXTRA...`, asserting success.
pub fn create(dir: &TestDir, path: &Path, torrent: &Path, extra: &[&str]) {
    let mut args = crate::args!["create", path, "-o", torrent];
    args.extend(extra.iter().map(OsString::from));
    run_ok(dir, "shoal-create", args, STARTUP_TIMEOUT);
    assert!(
        torrent.is_file(),
        "shoal create exited 0 but wrote no {}",
        torrent.display()
    );
}

/// A running `shoal share` and the magnet link it printed.
pub struct Share {
    pub proc: Proc,
    pub magnet: String,
}

impl Share {
    /// Where the sharer listens, from the magnet's `x.pe` hint on 127.0.0.1.
    pub fn addr(&self) -> String {
        super::magnet::peer_hints(&self.magnet)
            .into_iter()
            .find(|hint| hint.starts_with("127.0.0.1:"))
            .unwrap_or_else(|| {
                panic!("the magnet of `shoal share --listen 127.0.0.1:0` has no x.pe=127.0.0.1:PORT hint: {}", self.magnet)
            })
    }
}

/// `shoal share PATH --listen 127.0.0.1:0 EXTRA...`; waits for the magnet line.
pub fn share(dir: &TestDir, path: &Path, extra: Vec<OsString>) -> Share {
    share_env(dir, path, extra, &[])
}

/// [`share`] with extra environment variables.
pub fn share_env(dir: &TestDir, path: &Path, extra: Vec<OsString>, env: Env) -> Share {
    let mut args = crate::args!["share", path, "--listen", "127.0.0.1:0"];
    args.extend(extra);
    let mut proc = spawn_env(dir, "shoal-share", args, env);
    let magnet = proc.first_line(STARTUP_TIMEOUT, "magnet link");
    assert!(
        magnet.starts_with("magnet:?"),
        "the first line of `shoal share` is not a magnet link: {magnet:?}"
    );
    Share { proc, magnet }
}

/// `shoal get SOURCE -o OUT --listen 127.0.0.1:0 EXTRA...` started in the background.
pub fn spawn_get(
    dir: &TestDir,
    source: impl AsRef<OsStr>,
    out: &Path,
    extra: Vec<OsString>,
) -> Proc {
    let mut args = crate::args!["get", source, "-o", out, "--listen", "127.0.0.1:0"];
    args.extend(extra);
    spawn(dir, "shoal-get", args)
}

/// `shoal get ...` (as [`spawn_get`]) run to completion, asserting exit 0.
pub fn get(dir: &TestDir, source: impl AsRef<OsStr>, out: &Path, extra: Vec<OsString>) -> Finished {
    get_env(dir, source, out, extra, &[])
}

/// [`get`] with extra environment variables.
pub fn get_env(
    dir: &TestDir,
    source: impl AsRef<OsStr>,
    out: &Path,
    extra: Vec<OsString>,
    env: Env,
) -> Finished {
    let mut args = crate::args!["get", source, "-o", out, "--listen", "127.0.0.1:0"];
    args.extend(extra);
    spawn_env(dir, "shoal-get", args, env).wait_success(TRANSFER_TIMEOUT)
}

/// A running `shoal seed`.
pub struct Seed {
    pub proc: Proc,
    pub port: u16,
}

impl Seed {
    pub fn addr(&self) -> String {
        loopback(self.port)
    }
}

/// `shoal seed TORRENT --data DATA_DIR --listen 127.0.0.1:PORT [--peer P]...`;
/// returns once the port accepts connections (the data may still be checked).
pub fn seed(dir: &TestDir, torrent: &Path, data_dir: &Path, peers: &[String]) -> Seed {
    seed_with(dir, torrent, data_dir, peers, Vec::new())
}

/// [`seed`] with extra arguments (e.g. `--encryption require`).
pub fn seed_with(
    dir: &TestDir,
    torrent: &Path,
    data_dir: &Path,
    peers: &[String],
    extra: Vec<OsString>,
) -> Seed {
    let port = free_port();
    let mut args = crate::args![
        "seed",
        torrent,
        "--data",
        data_dir,
        "--listen",
        loopback(port)
    ];
    args.extend(peer_args(peers));
    args.extend(extra);
    let mut proc = spawn(dir, "shoal-seed", args);
    if !wait_port_open(port, STARTUP_TIMEOUT) {
        panic!(
            "shoal seed is not listening on port {port}\n{}",
            proc.log_tails()
        );
    }
    if let Some(status) = proc.try_exit() {
        panic!("shoal seed exited: {status:?}\n{}", proc.log_tails());
    }
    Seed { proc, port }
}

/// `--peer ADDR` for each address.
pub fn peer_args(peers: &[String]) -> Vec<OsString> {
    peers
        .iter()
        .flat_map(|peer| [OsString::from("--peer"), OsString::from(peer)])
        .collect()
}

/// `shoal info SOURCE --json` parsed into `path<TAB>json value` leaves by
/// tests/interop/json_leaves.py; panics unless shoal succeeds with valid JSON.
pub fn info_json_leaves(dir: &TestDir, source: impl AsRef<OsStr>) -> Vec<(String, String)> {
    let finished = run_ok(
        dir,
        "shoal-info",
        crate::args!["info", source, "--json"],
        QUICK_TIMEOUT,
    );
    super::json::json_leaves(dir, &finished.stdout)
}

/// The info-hash (40 lowercase hex) that `shoal info --json` reports: the one
/// string leaf that is 40 hex digits and whose key mentions a hash.
pub fn info_hash_from_json(leaves: &[(String, String)]) -> String {
    let hashes: Vec<String> = leaves
        .iter()
        .filter(|(path, _)| path.to_ascii_lowercase().contains("hash"))
        .filter_map(|(_, value)| {
            let text = value.trim_matches('"');
            (text.len() == 40 && text.chars().all(|c| c.is_ascii_hexdigit()))
                .then(|| text.to_ascii_lowercase())
        })
        .collect();
    match hashes.as_slice() {
        [one] => one.clone(),
        [first, rest @ ..] if rest.iter().all(|h| h == first) => first.clone(),
        _ => panic!("`shoal info --json` has no single 40-hex info-hash field: {leaves:?}"),
    }
}

fn join_args(args: &[OsString]) -> String {
    args.iter()
        .map(|a| a.to_string_lossy().into_owned())
        .collect::<Vec<_>>()
        .join(" ")
}

/// `ip netns exec NS shoal ARGS` with debug logs (or the caller's `RUST_LOG`), for tests
/// whose peers live in network namespaces they made.
pub fn spawn_in_netns(ns: &str, dir: &TestDir, label: &str, args: Vec<OsString>) -> Proc {
    let mut command = Command::new("ip");
    command.args(["netns", "exec", ns]).arg(SHOAL).args(args);
    if std::env::var_os("RUST_LOG").is_none() {
        command.env("RUST_LOG", "debug");
    }
    Proc::spawn_command(dir, label, command)
}
