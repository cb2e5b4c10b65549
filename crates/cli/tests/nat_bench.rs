//! NAT traversal benchmark: does a `get` reach the sharer, and how long from the getter's
//! start to its first payload byte, shoal against libtorrent in the same topology.
//! `#[ignore]`d (CI does not run it): run it with `bench/nat_topologies.sh`.
//!
//! Every run builds a fresh [`NatLab`] (namespaces only; no address in them exists outside):
//!
//! ```text
//!   [wan] 80.100.100.2 (+ .3), 2001:db8::2/::3 on br0; libtorrent DHT nodes on .2
//!     |-- 80.100.100.11 [router 1] -- 192.168.77.2 [home 1]   (the sharer, when NATed)
//!     |-- 80.100.100.12 [router 2] -- 192.168.78.2 [home 2]   (the getter, when NATed)
//! ```
//!
//! Topologies (sharer = has the file, getter = runs `get`):
//! - `open`: both in the WAN (.3 shares, .2 gets), the getter given the sharer's address.
//! - `one-side-nat`: sharer in home 1 behind a plain NAT, getter in the WAN (.3); they
//!   meet through a private DHT of libtorrent nodes (`lt_dht_net.py`) on .2. Only the
//!   sharer can dial out, so it has to find the getter's announce and dial it.
//! - `both-nat-dht`: sharer in home 1, getter in home 2, both plain NATs, DHT only: what
//!   `nat_dht.rs` tests (simultaneous uTP dials).
//! - `ipv6`: both in the WAN on IPv6 addresses only, the getter given the sharer's address.
//! - `upnp`, `natpmp-pcp`: sharer in home 1 behind miniupnpd (UPnP-IGD; or NAT-PMP and
//!   PCP, which miniupnpd 2.3.1 cannot serve apart), getter in the WAN dialing the public
//!   address the sharer reports. libtorrent reports its mapping with `portmap_alert`;
//!   shoal with a `reachable at A:P through X` log line. A shoal without port mapping
//!   prints none: its rows say "not built".
//! - The BEP 55 relay topology is not in this bench yet: `holepunch.rs` covers it.
//!
//! Method. The payload is one 2 MiB file; the sharer is started and ready (shoal: magnet
//! printed; libtorrent: `seeding`, `listening`, or its mapping) before the getter is
//! spawned. Time to first byte = wall clock of the getter's first payload byte minus the
//! wall clock taken just before the harness spawns the getter: shoal's is the timestamp of
//! its debug line `first block received from this peer`, libtorrent's the wall-clock field
//! of lt_client/lt_dht's `first-byte` line (first `total_wanted_done` or
//! `total_payload_download` above 0, polled every 100 ms or less). Both clients are timed
//! the same way, from the same spawn instant. A second figure, `seen`, is when the harness
//! itself (polling every 50 ms) saw that line. A getter without a first byte within
//! [`CONNECT_TIMEOUT`] is a "no". Each row runs one warm-up (discarded) then
//! `NAT_BENCH_RUNS` (default 5) measured runs; `NAT_BENCH_ONLY=topo1,topo2` picks rows.
//! `NAT_BENCH_SHOAL_SHARER=/path/to/shoal` runs another build of shoal as the sharer (e.g.
//! the port-mapping branch's, with `-vv` for its debug lines); the getter is always this
//! build's, whose `first block received` line the timing reads.
//!
//! libtorrent runs with its defaults except what the lab forces: its listen address (the
//! namespace's), no LSD, no UPnP/NAT-PMP except in the mapping rows, private DHT bootstrap
//! nodes and its loopback/private-address filters off and its DHT rate limits raised
//! (lt_dht.py, `--defaults`: seeds dial out, uTP dials on, as in libtorrent's defaults),
//! `transport both` (its
//! default; lt_client's own default is TCP only), quick re-dials of the given peer
//! (lt_client's `min_reconnect_time` 1 s), multiple connections per IP allowed.

mod common;

use common::discovery::dht_args_from;
use common::nat::{Gateway, NatLab, WAN_HOST};
use common::payload::{self, Payload, MIB};
use common::process::Proc;
use common::tools::{interop_script, require, Tool, DEBIAN_PYTHON};
use common::wait::wait_until;
use common::TestDir;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

/// A getter without a first byte by then did not connect.
const CONNECT_TIMEOUT: Duration = Duration::from_secs(60);
/// How long a sharer may take to be ready (or to get its port mapped).
const READY_TIMEOUT: Duration = Duration::from_secs(30);
/// How long the getter may take from its first byte to completion.
const COMPLETE_TIMEOUT: Duration = Duration::from_secs(60);
const PAYLOAD_LEN: usize = 2 * MIB;
/// The WAN's second IPv4 address, and its two IPv6 ones.
const WAN_SECOND: &str = "80.100.100.3";
const WAN6_GET: &str = "2001:db8::2";
const WAN6_SHARE: &str = "2001:db8::3";

#[derive(Clone, Copy, Debug, PartialEq)]
enum Client {
    Shoal,
    Libtorrent,
}

impl Client {
    fn name(self) -> &'static str {
        match self {
            Client::Shoal => "shoal",
            Client::Libtorrent => "libtorrent",
        }
    }
}

#[derive(Clone, Copy, Debug, PartialEq)]
enum Topology {
    Open,
    OneSideNat,
    BothNatDht,
    Ipv6,
    Upnp,
    NatPmpPcp,
}

impl Topology {
    const ALL: [Topology; 6] = [
        Topology::Open,
        Topology::Ipv6,
        Topology::Upnp,
        Topology::NatPmpPcp,
        Topology::OneSideNat,
        Topology::BothNatDht,
    ];

    fn name(self) -> &'static str {
        match self {
            Topology::Open => "open",
            Topology::OneSideNat => "one-side-nat",
            Topology::BothNatDht => "both-nat-dht",
            Topology::Ipv6 => "ipv6",
            Topology::Upnp => "upnp",
            Topology::NatPmpPcp => "natpmp-pcp",
        }
    }

    /// The (sharer, getter) pairs measured.
    fn pairs(self) -> Vec<(Client, Client)> {
        use Client::{Libtorrent as L, Shoal as S};
        match self {
            Topology::Open | Topology::Ipv6 => vec![(S, S), (L, L), (S, L), (L, S)],
            _ => vec![(S, S), (L, L)],
        }
    }

    fn gateways(self) -> Vec<Gateway> {
        let upnp = Gateway {
            upnp: true,
            natpmp: false,
        };
        let natpmp = Gateway {
            upnp: false,
            natpmp: true,
        };
        match self {
            Topology::Open | Topology::Ipv6 => vec![],
            Topology::OneSideNat => vec![Gateway::NONE],
            Topology::BothNatDht => vec![Gateway::NONE, Gateway::NONE],
            Topology::Upnp => vec![upnp],
            Topology::NatPmpPcp => vec![natpmp],
        }
    }

    fn uses_dht(self) -> bool {
        matches!(self, Topology::OneSideNat | Topology::BothNatDht)
    }
}

/// What one run gave.
#[derive(Clone, Debug)]
enum Outcome {
    /// First byte after `ms` (log timestamp) / `seen_ms` (harness poll); `complete`: the
    /// whole file arrived afterwards.
    Byte {
        ms: u64,
        seen_ms: u64,
        complete: bool,
        note: String,
    },
    /// No first byte: why.
    No(String),
    /// The client cannot do this (yet): why.
    NotBuilt(String),
}

/// One run's lab and processes; dropped processes are killed before the lab goes.
struct Run {
    procs: Vec<Proc>,
    lab: NatLab,
}

impl Drop for Run {
    fn drop(&mut self) {
        for proc in &mut self.procs {
            proc.kill();
        }
    }
}

#[test]
#[ignore = "benchmark: run bench/nat_topologies.sh"]
fn nat_traversal_benchmark() {
    if !require(&[Tool::Router, Tool::Libtorrent]) {
        return;
    }
    let runs: usize = std::env::var("NAT_BENCH_RUNS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(5);
    let only: Option<Vec<String>> = std::env::var("NAT_BENCH_ONLY")
        .ok()
        .map(|v| v.split(',').map(str::to_string).collect());
    let t = TestDir::new("nat-bench");
    let payload = payload::single_file(&t, "src", "nat-bench.bin", PAYLOAD_LEN, 17);
    let mut rows = Vec::new();
    let mut serial = 0;
    for topology in Topology::ALL {
        if only
            .as_ref()
            .is_some_and(|o| !o.iter().any(|n| n == topology.name()))
        {
            continue;
        }
        for (sharer, getter) in topology.pairs() {
            let pair = format!("{}→{}", sharer.name(), getter.name());
            let mut outcomes = Vec::new();
            for k in 0..=runs {
                serial += 1;
                let outcome = run_once(&t, &payload, serial, topology, sharer, getter);
                let label = if k == 0 {
                    "warm-up".to_string()
                } else {
                    format!("run {k}")
                };
                println!(
                    "nat-bench: {:<13} {:<22} {label:<8} {}",
                    topology.name(),
                    pair,
                    describe(&outcome)
                );
                let not_built = matches!(outcome, Outcome::NotBuilt(_));
                if k > 0 || not_built {
                    outcomes.push(outcome);
                }
                if not_built {
                    break;
                }
            }
            rows.push((topology.name(), pair, outcomes));
        }
    }
    println!("\nnat-bench: {runs} runs after one warm-up; time from the getter's spawn to its first payload byte");
    println!(
        "| topology | sharer→getter | connects | first byte, ms: median (min–max) | complete |"
    );
    println!("|---|---|---|---|---|");
    for (topology, pair, outcomes) in &rows {
        println!("| {topology} | {pair} | {} |", summarize(outcomes));
    }
}

fn describe(outcome: &Outcome) -> String {
    match outcome {
        Outcome::Byte {
            ms,
            seen_ms,
            complete,
            note,
        } => format!(
            "first byte {ms} ms (seen {seen_ms} ms) complete={} {note}",
            if *complete { "yes" } else { "no" }
        ),
        Outcome::No(why) => format!("NO: {why}"),
        Outcome::NotBuilt(why) => format!("not built: {why}"),
    }
}

/// "connects | median (min–max) | complete" for one row.
fn summarize(outcomes: &[Outcome]) -> String {
    if let Some(Outcome::NotBuilt(why)) = outcomes.first() {
        return format!("not built ({why}) | – | –");
    }
    let mut ms: Vec<u64> = Vec::new();
    let mut complete = 0;
    for outcome in outcomes {
        if let Outcome::Byte {
            ms: m, complete: c, ..
        } = outcome
        {
            ms.push(*m);
            complete += usize::from(*c);
        }
    }
    let n = outcomes.len();
    let connects = match ms.len() {
        0 => "no".to_string(),
        k if k == n => "yes".to_string(),
        k => format!("{k}/{n}"),
    };
    if ms.is_empty() {
        return format!("{connects} | – | 0/{n}");
    }
    ms.sort_unstable();
    let median = if ms.len() % 2 == 1 {
        ms[ms.len() / 2]
    } else {
        (ms[ms.len() / 2 - 1] + ms[ms.len() / 2]) / 2
    };
    format!(
        "{connects} | {median} ({}–{}) | {complete}/{n}",
        ms[0],
        ms[ms.len() - 1]
    )
}

fn run_once(
    t: &TestDir,
    payload: &Payload,
    serial: usize,
    topology: Topology,
    sharer: Client,
    getter: Client,
) -> Outcome {
    let dir = t.subdir(&format!("run-{serial}"));
    let tag = format!("nb{serial}");
    let Some(lab) = NatLab::create(t, &tag, &topology.gateways()) else {
        return Outcome::No("cannot build the lab".into());
    };
    let mut run = Run {
        procs: Vec::new(),
        lab,
    };
    lab_addresses(&run.lab, topology);
    let torrent = dir.join("x.torrent");

    // The private DHT, where the topology needs one.
    let mut nodes = Vec::new();
    if topology.uses_dht() {
        // A busy machine sometimes leaves a node of the fresh DHT without enough
        // neighbours within lt_dht_net's own deadline: start it again (bounded).
        let mut ready = None;
        for attempt in 1..=3 {
            let mut dht = run.lab.spawn(
                &run.lab.wan_ns,
                t,
                &format!("lt-dht-net-{serial}-{attempt}"),
                DEBIAN_PYTHON,
                args![
                    interop_script("lt_dht_net.py"),
                    "--count",
                    "8",
                    "--host",
                    WAN_HOST,
                    "--timeout",
                    "600"
                ],
            );
            let up = wait_until(Duration::from_secs(60), || {
                dht.stdout().lines().any(|l| l == "ready") || dht.try_exit().is_some()
            }) && dht.stdout().lines().any(|l| l == "ready");
            if up {
                ready = Some(dht);
                break;
            }
            dht.kill();
        }
        let Some(dht) = ready else {
            return Outcome::No("the libtorrent DHT never got ready (3 tries)".into());
        };
        nodes = dht
            .stdout()
            .lines()
            .filter_map(|l| l.strip_prefix("node "))
            .map(str::to_string)
            .collect();
        run.procs.push(dht);
    }

    // Where each side runs and listens.
    let (share_ns, share_host) = match topology {
        Topology::Open => (run.lab.wan_ns.clone(), WAN_SECOND.to_string()),
        Topology::Ipv6 => (run.lab.wan_ns.clone(), WAN6_SHARE.to_string()),
        _ => (
            run.lab.homes[0].home_ns.clone(),
            run.lab.homes[0].lan_ip.clone(),
        ),
    };
    let (get_ns, get_host) = match topology {
        Topology::Open | Topology::Upnp | Topology::NatPmpPcp => {
            (run.lab.wan_ns.clone(), WAN_HOST.to_string())
        }
        Topology::Ipv6 => (run.lab.wan_ns.clone(), WAN6_GET.to_string()),
        Topology::OneSideNat => (run.lab.wan_ns.clone(), WAN_SECOND.to_string()),
        Topology::BothNatDht => (
            run.lab.homes[1].home_ns.clone(),
            run.lab.homes[1].lan_ip.clone(),
        ),
    };
    let listen = |host: &str| {
        if host.contains(':') {
            format!("[{host}]:6881")
        } else {
            format!("{host}:6881")
        }
    };

    // The sharer, until it is ready; `dial`: the address a getter given one dials.
    let mapping = matches!(topology, Topology::Upnp | Topology::NatPmpPcp);
    let data_dir = payload.content().parent().unwrap().to_path_buf();
    let dial: Option<String>;
    let mut note = String::new();
    match sharer {
        Client::Shoal => {
            let mut args = args![
                "share",
                payload.content(),
                "--listen",
                listen(&share_host),
                "--torrent-out",
                &torrent
            ];
            if topology.uses_dht() {
                args.extend(dht_args_from(t, &format!("share-{serial}"), &nodes[..3]));
            } else {
                args.extend(args!["--no-dht", "--no-lsd"]);
            }
            let mut proc = spawn_shoal(&run.lab, &share_ns, t, &format!("share-{serial}"), args);
            proc.first_line(READY_TIMEOUT, "magnet link");
            if mapping {
                // i17-portmap's line: `reachable at A:P through UPnP|NAT-PMP|PCP`. Its other
                // reachability lines ("no port mapping; reachable at LAN:P if ...", "still
                // waiting") say the feature is there but mapped nothing (yet).
                let mapped = |l: &&str| l.contains("reachable at ") && l.contains(" through ");
                wait_until(Duration::from_secs(15), || {
                    proc.stderr().lines().any(|l| mapped(&l))
                });
                let stderr = proc.stderr();
                let Some(line) = stderr.lines().find(mapped).map(str::to_string) else {
                    let tried = stderr
                        .lines()
                        .rfind(|l| l.contains("port mapping"))
                        .map(str::to_string);
                    run.procs.push(proc);
                    return match tried {
                        Some(line) => Outcome::No(format!("shoal mapped nothing: {line}")),
                        None => Outcome::NotBuilt(
                            "shoal share printed no `reachable at A:P through X` line".into(),
                        ),
                    };
                };
                let rest = &line[line.find("reachable at ").unwrap() + 13..];
                dial = Some(rest.split_whitespace().next().unwrap_or("").to_string());
                note = rest.to_string();
            } else {
                dial = Some(listen(&share_host));
            }
            run.procs.push(proc);
        }
        Client::Libtorrent => {
            if topology == Topology::NatPmpPcp {
                // libtorrent 2.0 speaks NAT-PMP, not PCP: its NAT-PMP client is measured here.
                note = "libtorrent: NAT-PMP".into();
            }
            common::shoal::create(t, &payload.content(), &torrent, &[]);
            let mut proc = if topology.uses_dht() {
                run.lab.spawn(
                    &share_ns,
                    t,
                    &format!("lt-share-{serial}"),
                    DEBIAN_PYTHON,
                    lt_dht_args("seed", &listen(&share_host), &nodes[..3], |a| {
                        a.extend(args!["--torrent", &torrent, "--data", &data_dir])
                    }),
                )
            } else {
                let mut args = args![
                    interop_script("lt_client.py"),
                    "seed",
                    "--torrent",
                    &torrent,
                    "--data",
                    &data_dir,
                    "--host",
                    &share_host,
                    "--listen",
                    "6881",
                    "--transport",
                    "both",
                    "--timeout",
                    "600"
                ];
                match topology {
                    Topology::Upnp => args.extend(args!["--port-mapping", "upnp"]),
                    Topology::NatPmpPcp => args.extend(args!["--port-mapping", "natpmp"]),
                    _ => {}
                }
                run.lab.spawn(
                    &share_ns,
                    t,
                    &format!("lt-share-{serial}"),
                    DEBIAN_PYTHON,
                    args,
                )
            };
            proc.wait_for_line(READY_TIMEOUT, "`seeding`", |l| l == "seeding");
            if mapping {
                let mut mapped = None;
                wait_until(READY_TIMEOUT, || {
                    mapped = proc
                        .stdout()
                        .lines()
                        .find_map(|l| l.strip_prefix("portmap tcp "))
                        .map(str::to_string);
                    mapped.is_some()
                });
                let Some(port) = mapped else {
                    let errors: Vec<String> = proc
                        .stdout()
                        .lines()
                        .filter(|l| l.starts_with("portmap"))
                        .map(str::to_string)
                        .collect();
                    run.procs.push(proc);
                    return Outcome::No(format!("libtorrent got no TCP mapping: {errors:?}"));
                };
                dial = Some(format!("{}:{port}", run.lab.homes[0].public_ip));
                note = format!("{note} mapped {}", dial.as_deref().unwrap());
            } else {
                dial = Some(listen(&share_host));
            }
            run.procs.push(proc);
        }
    }
    let hash = info_hash(t, &torrent);

    // The getter, timed from just before its spawn.
    let out = dir.join("out");
    std::fs::create_dir_all(&out).unwrap();
    let spawned_wall = SystemTime::now();
    let spawned = Instant::now();
    let mut proc = match getter {
        Client::Shoal => {
            let mut args = if topology.uses_dht() {
                let mut a = args!["get", &hash, "-o", &out, "--listen", listen(&get_host)];
                a.extend(dht_args_from(t, &format!("get-{serial}"), &nodes[4..7]));
                a
            } else {
                args![
                    "get",
                    &torrent,
                    "-o",
                    &out,
                    "--listen",
                    listen(&get_host),
                    "--no-dht",
                    "--no-lsd"
                ]
            };
            if let (false, Some(peer)) = (topology.uses_dht(), &dial) {
                args.extend(args!["--peer", peer]);
            }
            run.lab
                .spawn_shoal(&get_ns, t, &format!("get-{serial}"), args)
        }
        Client::Libtorrent => {
            let args = if topology.uses_dht() {
                lt_dht_args("get", &listen(&get_host), &nodes[4..7], |a| {
                    a.extend(args!["--info-hash", &hash, "--save", &out])
                })
            } else {
                args![
                    interop_script("lt_client.py"),
                    "get",
                    "--torrent",
                    &torrent,
                    "--save",
                    &out,
                    "--host",
                    &get_host,
                    "--listen",
                    "6881",
                    "--transport",
                    "both",
                    "--timeout",
                    "600",
                    "--peer",
                    dial.as_deref().unwrap()
                ]
            };
            run.lab
                .spawn(&get_ns, t, &format!("lt-get-{serial}"), DEBIAN_PYTHON, args)
        }
    };
    let outcome = first_byte(
        &mut proc,
        getter,
        spawned_wall,
        spawned,
        payload,
        &out,
        note,
    );
    run.procs.push(proc);
    outcome
}

/// The sharer's `shoal ARGS` in `ns` with debug logs: this build's, or
/// `NAT_BENCH_SHOAL_SHARER`'s.
fn spawn_shoal(
    lab: &NatLab,
    ns: &str,
    t: &TestDir,
    label: &str,
    mut args: Vec<std::ffi::OsString>,
) -> Proc {
    match std::env::var_os("NAT_BENCH_SHOAL_SHARER") {
        Some(shoal) => {
            args.push("-vv".into());
            lab.spawn(ns, t, label, &shoal.to_string_lossy(), args)
        }
        None => lab.spawn_shoal(ns, t, label, args),
    }
}

/// Waits for the getter's first byte, then (bounded) for the whole file.
fn first_byte(
    proc: &mut Proc,
    getter: Client,
    spawned_wall: SystemTime,
    spawned: Instant,
    payload: &Payload,
    out: &Path,
    note: String,
) -> Outcome {
    let spawned_ms = spawned_wall.duration_since(UNIX_EPOCH).unwrap().as_millis() as u64;
    let mut at_wall = None;
    let mut exited = false;
    wait_until(CONNECT_TIMEOUT, || {
        at_wall = match getter {
            Client::Shoal => proc
                .stderr()
                .lines()
                .find(|l| l.contains("first block received from this peer"))
                .and_then(tracing_timestamp_ms),
            Client::Libtorrent => proc.stdout().lines().find_map(|l| {
                let mut fields = l.strip_prefix("first-byte ")?.split(' ');
                fields.nth(1)?.parse::<u64>().ok()
            }),
        };
        if at_wall.is_none() && proc.try_exit().is_some() {
            exited = true;
        }
        at_wall.is_some() || exited
    });
    let seen_ms = spawned.elapsed().as_millis() as u64;
    let Some(at_wall) = at_wall else {
        return Outcome::No(if exited {
            format!(
                "getter exited without a byte ({note}): {}",
                proc.stderr().lines().last().unwrap_or("").trim()
            )
        } else {
            format!("no first byte within {CONNECT_TIMEOUT:?}")
        });
    };
    let complete = wait_until(COMPLETE_TIMEOUT, || {
        payload.is_downloaded(out) || proc.try_exit().is_some()
    }) && wait_until(Duration::from_secs(5), || payload.is_downloaded(out));
    Outcome::Byte {
        ms: at_wall.saturating_sub(spawned_ms),
        seen_ms,
        complete,
        note,
    }
}

/// `lt_dht.py MODE --listen L --bootstrap N...` plus the mode's own arguments.
fn lt_dht_args(
    mode: &str,
    listen: &str,
    nodes: &[String],
    extra: impl FnOnce(&mut Vec<std::ffi::OsString>),
) -> Vec<std::ffi::OsString> {
    let mut args = args![
        interop_script("lt_dht.py"),
        mode,
        "--listen",
        listen,
        "--timeout",
        "600",
        "--defaults"
    ];
    for node in nodes {
        args.extend(args!["--bootstrap", node]);
    }
    extra(&mut args);
    args
}

/// The WAN's extra addresses for the topology.
fn lab_addresses(lab: &NatLab, topology: Topology) {
    match topology {
        Topology::Open | Topology::OneSideNat => lab.add_wan_address(WAN_SECOND),
        Topology::Ipv6 => {
            for address in [WAN6_GET, WAN6_SHARE] {
                let cidr = format!("{address}/64");
                let ok = Command::new("ip")
                    .args([
                        "-n",
                        &lab.wan_ns,
                        "addr",
                        "add",
                        &cidr,
                        "dev",
                        "br0",
                        "nodad",
                    ])
                    .status()
                    .is_ok_and(|s| s.success());
                assert!(ok, "add {cidr} to the WAN");
            }
        }
        _ => {}
    }
}

/// The torrent's info-hash, from `shoal info`.
fn info_hash(t: &TestDir, torrent: &PathBuf) -> String {
    let leaves = common::shoal::info_json_leaves(t, torrent);
    common::shoal::info_hash_from_json(&leaves)
}

/// Milliseconds since the epoch of a tracing line's leading `YYYY-MM-DDTHH:MM:SS.ffffffZ`.
fn tracing_timestamp_ms(line: &str) -> Option<u64> {
    let stamp = line.split_whitespace().next()?.strip_suffix('Z')?;
    let (date, time) = stamp.split_once('T')?;
    let mut d = date.split('-').map(|p| p.parse::<i64>());
    let (y, m, day) = (d.next()?.ok()?, d.next()?.ok()?, d.next()?.ok()?);
    let mut hms = time.split(':');
    let (h, min) = (
        hms.next()?.parse::<i64>().ok()?,
        hms.next()?.parse::<i64>().ok()?,
    );
    let secs: f64 = hms.next()?.parse().ok()?;
    // Days from the civil date (Howard Hinnant's algorithm).
    let y = if m <= 2 { y - 1 } else { y };
    let era = y.div_euclid(400);
    let yoe = y - era * 400;
    let mp = (m + 9) % 12;
    let doy = (153 * mp + 2) / 5 + day - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    let days = era * 146_097 + doe - 719_468;
    let ms = ((days * 86_400 + h * 3600 + min * 60) as f64 + secs) * 1000.0;
    Some(ms as u64)
}

#[test]
fn tracing_timestamps_parse() {
    assert_eq!(
        tracing_timestamp_ms("2026-12-08T04:21:29.903285Z  INFO listening"),
        Some(1_796_703_689_903)
    );
}
