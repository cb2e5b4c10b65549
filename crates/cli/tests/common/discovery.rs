//! Helpers for the DHT and LSD tests: a private Mainline DHT of libtorrent nodes on
//! 127.0.0.1, `shoal` processes started with the discovery flags the test chooses (the
//! plain [`super::shoal`] helpers turn DHT and LSD off), and a pair of network namespaces
//! joined by a veth link for multicast that stays inside the test.

use std::ffi::OsString;
use std::path::Path;
use std::process::Command;
use std::sync::atomic::{AtomicU32, Ordering};
use std::time::Duration;

use super::process::{Finished, Proc};
use super::shoal::SHOAL;
use super::testdir::TestDir;
use super::tools::in_ci;

/// A private DHT of libtorrent nodes on 127.0.0.1 (tests/interop/lt_dht_net.py): the
/// nodes of the most common implementation, which shoal's node and libtorrent both join.
/// The nodes stop when it is dropped.
pub struct LtDhtNet {
    pub nodes: Vec<String>,
    _proc: Proc,
}

impl LtDhtNet {
    /// Starts `count` nodes and waits until each knows half of the others.
    pub fn start(t: &TestDir, count: usize) -> LtDhtNet {
        let script = super::tools::interop_script("lt_dht_net.py");
        let count = count.to_string();
        let args = crate::args![script, "--count", count, "--timeout", "600"];
        let mut proc = Proc::spawn(t, "lt-dht-net", super::tools::DEBIAN_PYTHON, args);
        proc.wait_for_line(Duration::from_secs(60), "`ready`", |l| l == "ready");
        let nodes = proc
            .stdout()
            .lines()
            .filter_map(|l| l.strip_prefix("node "))
            .map(str::to_string)
            .collect();
        LtDhtNet { nodes, _proc: proc }
    }
}

/// `--dht-bootstrap` for a few nodes of the testnet (a real client knows a few routers, not
/// the whole network), a state file in the test dir, and no LSD.
pub fn dht_args(t: &TestDir, label: &str, testnet: &LtDhtNet) -> Vec<OsString> {
    dht_args_from(t, label, &testnet.nodes[..3])
}

/// [`dht_args`] with the given bootstrap nodes.
pub fn dht_args_from(t: &TestDir, label: &str, bootstrap: &[String]) -> Vec<OsString> {
    let mut args = crate::args![
        "--no-lsd",
        "--dht-state",
        t.join(&format!("{label}.dht-nodes"))
    ];
    for node in bootstrap {
        args.extend(crate::args!["--dht-bootstrap", node]);
    }
    args
}

/// `shoal ARGS` as given (no flags added), with debug logs on stderr. The arguments must keep
/// it on loopback: `--no-lsd`, and `--no-dht` or `--dht-bootstrap` (else the DHT would ask
/// the public routers); LSD runs only in [`NetnsPair`]s.
pub fn spawn_shoal(t: &TestDir, label: &str, args: Vec<OsString>) -> Proc {
    let has = |flag: &str| args.iter().any(|a| a == flag);
    assert!(
        has("--no-lsd") && (has("--no-dht") || has("--dht-bootstrap")),
        "a shoal outside a namespace needs --no-lsd and --no-dht or --dht-bootstrap: {args:?}"
    );
    let mut command = Command::new(SHOAL);
    command.args(args);
    if std::env::var_os("RUST_LOG").is_none() {
        command.env("RUST_LOG", "debug");
    }
    Proc::spawn_command(t, label, command)
}

/// The milliseconds in the first `elapsed_ms=N` of a log line containing `marker`.
pub fn logged_elapsed_ms(log: &str, marker: &str) -> Option<u64> {
    let line = log.lines().find(|line| line.contains(marker))?;
    let rest = &line[line.find("elapsed_ms=")? + "elapsed_ms=".len()..];
    let digits: String = rest.chars().take_while(char::is_ascii_digit).collect();
    digits.parse().ok()
}

/// Two network namespaces joined by a veth pair (`10.X.0.1/24` and `10.X.0.2/24`, and
/// `fd77:X::1/64`, `fd77:X::2/64`), each with a default route over the link so multicast
/// has a way out. Deleted on drop (drop the processes running in them first).
pub struct NetnsPair {
    pub names: [String; 2],
    pub addrs: [String; 2],
}

impl NetnsPair {
    /// Creates the pair, or returns `None` (after a loud notice; a failure in CI) when this
    /// machine cannot: namespaces need root and the `ip` tool.
    pub fn create(tag: &str) -> Option<NetnsPair> {
        static NEXT: AtomicU32 = AtomicU32::new(0);
        let n = NEXT.fetch_add(1, Ordering::Relaxed);
        let id = (std::process::id() + n) % 200 + 20;
        let names = [format!("shoal-{tag}-{id}-a"), format!("shoal-{tag}-{id}-b")];
        let pair = NetnsPair {
            addrs: [format!("10.{id}.0.1"), format!("10.{id}.0.2")],
            names,
        };
        let veth = [format!("sh{id}a"), format!("sh{id}b")];
        let [a, b] = &pair.names;
        let steps: Vec<Vec<String>> = vec![
            vec!["netns".into(), "add".into(), a.clone()],
            vec!["netns".into(), "add".into(), b.clone()],
            split(&format!(
                "link add {} netns {a} type veth peer name {} netns {b}",
                veth[0], veth[1]
            )),
            split(&format!(
                "-n {a} addr add {}/24 dev {}",
                pair.addrs[0], veth[0]
            )),
            split(&format!(
                "-n {b} addr add {}/24 dev {}",
                pair.addrs[1], veth[1]
            )),
            split(&format!(
                "-n {a} -6 addr add fd77:{id}::1/64 dev {} nodad",
                veth[0]
            )),
            split(&format!(
                "-n {b} -6 addr add fd77:{id}::2/64 dev {} nodad",
                veth[1]
            )),
            split(&format!("-n {a} link set lo up")),
            split(&format!("-n {b} link set lo up")),
            split(&format!("-n {a} link set {} up", veth[0])),
            split(&format!("-n {b} link set {} up", veth[1])),
            split(&format!("-n {a} route add default dev {}", veth[0])),
            split(&format!("-n {b} route add default dev {}", veth[1])),
        ];
        for step in steps {
            let output = Command::new("ip").args(&step).output();
            let failed = match &output {
                Ok(out) if out.status.success() => None,
                Ok(out) => Some(String::from_utf8_lossy(&out.stderr).into_owned()),
                Err(e) => Some(e.to_string()),
            };
            if let Some(why) = failed {
                let message = format!(
                    "cannot create network namespaces (`ip {}`: {why}); needs root",
                    step.join(" ")
                );
                drop(pair);
                if in_ci() {
                    panic!("{message}");
                }
                eprintln!("!!!!!!!! SKIPPED: {message} !!!!!!!!");
                return None;
            }
        }
        Some(pair)
    }

    /// `ip netns exec NS PROGRAM ARGS`.
    pub fn spawn(
        &self,
        side: usize,
        t: &TestDir,
        label: &str,
        program: &str,
        args: Vec<OsString>,
    ) -> Proc {
        let mut command = Command::new("ip");
        command
            .args(["netns", "exec", self.names[side].as_str()])
            .arg(program)
            .args(args);
        Proc::spawn_command(t, label, command)
    }

    /// `ip netns exec NS shoal ARGS` with debug logs.
    pub fn spawn_shoal(&self, side: usize, t: &TestDir, label: &str, args: Vec<OsString>) -> Proc {
        super::shoal::spawn_in_netns(&self.names[side], t, label, args)
    }
}

impl Drop for NetnsPair {
    fn drop(&mut self) {
        // Deleting a namespace also deletes its end of the veth pair, and so the pair.
        for name in &self.names {
            let _ = Command::new("ip").args(["netns", "del", name]).output();
        }
    }
}

fn split(s: &str) -> Vec<String> {
    s.split_whitespace().map(String::from).collect()
}

/// Runs `proc` to a successful end, for symmetry with the other helpers.
pub fn wait_ok(proc: &mut Proc, timeout: std::time::Duration) -> Finished {
    proc.wait_success(timeout)
}

/// True if `path` exists and is not empty.
pub fn non_empty(path: &Path) -> bool {
    std::fs::metadata(path).is_ok_and(|m| m.len() > 0)
}
