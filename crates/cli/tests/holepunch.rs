//! Hole punching through a peer (BEP 55) across two home routers.
//!
//! A NAT lab ([`NatLab`]) with two homes behind routers that masquerade and offer no port
//! mapping, and a relay C in the WAN namespace:
//!
//! ```text
//!   A (home 1, seeds)  --NAT--\
//!                              [wan] C 80.100.100.2:6881 (downloads; uplink throttled)
//!   B (home 2, gets)   --NAT--/
//! ```
//!
//! A and B know only C (`--peer`, no DHT, no LSD, no tracker) and speak uTP only. C gives B
//! A's address by PEX; B's dial to it dies at A's router; B asks C for a rendezvous, C tells
//! both ends to connect, and their simultaneous uTP dials open both NATs. C's link is
//! throttled to a trickle so that B finishes only if most of the data comes straight from A;
//! the test then asserts it from the logs: the side that runs shoal must show blocks moving
//! to or from the other home's public address, which nothing but the hole punch reaches.

mod common;

use common::libtorrent::listening_port;
use common::nat::{Gateway, NatLab, WAN_HOST};
use common::payload::{self, Maker, Payload, MIB};
use common::tools::{interop_script, require, Tool, DEBIAN_PYTHON};
use common::{Proc, TestDir, TRANSFER_TIMEOUT};
use std::ffi::OsString;
use std::path::Path;
use std::process::Command;
use std::time::{Duration, SystemTime};

/// Every peer listens on this port in its own namespace; the routers' masquerade keeps it.
const PORT: u16 = 6881;
/// C's link, each way: slow enough that a download through C alone would outlast the test's wait
/// for the hole punch by far (8 MiB at 2 Mbit/s is half a minute).
const RELAY_UPLINK: &str = "2mbit";
/// The same for what reaches C, in nftables' words.
const RELAY_DOWNLINK: &str = "256 kbytes/second burst 32 kbytes";
const FILE_LEN: usize = 8 * MIB + 12_345;
/// What must move between the homes directly. Not most of the file: A starts complete, so
/// it seeds in its initial-seeding mode, where C (connected first, fetching slowly through
/// its throttle) owns the pieces it asked for until they have left A once, and B is refused
/// those; a mebibyte still takes far more than C's trickle gives in the time left.
const DIRECT_AT_LEAST: usize = MIB;

/// Log lines of shoal's that trace a hole punch.
const MILESTONES: &[&str] = &[
    "asking its introducer",
    "relaying a hole punch",
    "hole punching: dialing",
    "hole-punch dial",
    "through a hole punch",
    "first block",
    "refused by the relay",
    "hole-punch connect",
];

#[derive(Clone, Copy, Debug, PartialEq)]
enum Client {
    Shoal,
    Libtorrent,
}

/// Who plays A (the seed in home 1), C (the relay in the WAN) and B (the getter in home 2).
struct Roles {
    seed: Client,
    relay: Client,
    getter: Client,
}

#[test]
fn shoal_peers_behind_two_nats_trade_directly_through_a_shoal_relay() {
    punch(Roles {
        seed: Client::Shoal,
        relay: Client::Shoal,
        getter: Client::Shoal,
    });
}

#[test]
fn shoal_peers_behind_two_nats_trade_directly_through_a_libtorrent_relay() {
    punch(Roles {
        seed: Client::Shoal,
        relay: Client::Libtorrent,
        getter: Client::Shoal,
    });
}

#[test]
fn shoal_gets_from_libtorrent_behind_another_nat_through_a_shoal_relay() {
    punch(Roles {
        seed: Client::Libtorrent,
        relay: Client::Shoal,
        getter: Client::Shoal,
    });
}

#[test]
fn libtorrent_gets_from_shoal_behind_another_nat_through_a_shoal_relay() {
    punch(Roles {
        seed: Client::Shoal,
        relay: Client::Shoal,
        getter: Client::Libtorrent,
    });
}

fn punch(roles: Roles) {
    let mut tools = vec![Tool::Router];
    if [roles.seed, roles.relay, roles.getter].contains(&Client::Libtorrent) {
        tools.push(Tool::Libtorrent);
    }
    if !require(&tools) {
        return;
    }
    let t = TestDir::new("holepunch");
    let Some(lab) = NatLab::create(&t, "hp", &[Gateway::NONE, Gateway::NONE]) else {
        return;
    };
    throttle_relay(&lab);
    let payload = payload::single_file(&t, "src", "punched.bin", FILE_LEN, 55);
    let torrent = payload::make_torrent(&t, Maker::Shoal, &payload, "punched.torrent");
    let relay_addr = format!("{WAN_HOST}:{PORT}");
    let (home_a, home_b) = (&lab.homes[0], &lab.homes[1]);

    let mut relay = start_relay(&lab, &t, roles.relay, &torrent);
    // libtorrent sends a peer its first PEX only once it has two peers, so that A and B
    // would learn each other at the same moment and their crossing dials would punch
    // through without any rendezvous: a bystander in the WAN joins libtorrent first, so
    // that A's first PEX goes out as A joins, before B is there.
    let _bystander = (roles.relay == Client::Libtorrent).then(|| {
        // libtorrent too, so that whichever of the two B asks, a libtorrent relays.
        let out = t.subdir("out-d");
        let mut args = lt_args("get", &torrent, &out, WAN_HOST, &[&relay_addr]);
        let port = (PORT + 1).to_string();
        let at = args.iter().position(|a| a == "--listen").expect("--listen") + 1;
        args[at] = OsString::from(port);
        let mut proc = lab.spawn(&lab.wan_ns, &t, "libtorrent-bystander", DEBIAN_PYTHON, args);
        listening_port(&mut proc);
        let joined = common::wait_until(Duration::from_secs(30), || {
            relay_sees(&relay, roles.relay, WAN_HOST)
        });
        assert!(
            joined,
            "the bystander never connected to C\n{}",
            proc.log_tails()
        );
        proc
    });
    let mut seed = start_seed(&lab, &t, roles.seed, &torrent, &payload, &relay_addr);
    // B joins once A is in C's swarm, so that C's first PEX to B names A.
    let seed_joined = common::wait_until(Duration::from_secs(30), || {
        relay_sees(&relay, roles.relay, &home_a.public_ip)
    });
    assert!(
        seed_joined,
        "A never connected to C\n{}\n{}",
        relay.log_tails(),
        seed.log_tails()
    );

    // C's first PEX to A goes out a second after A's extension handshake; B joins after
    // it, so A does not learn B's address before the next round a minute later, and the
    // two homes can meet only through a rendezvous (with both learning each other at once
    // their plain dials would cross and open both NATs by themselves).
    std::thread::sleep(Duration::from_millis(2500));
    let out = t.subdir("out-b");
    let started = SystemTime::now();
    let mut getter = start_getter(&lab, &t, roles.getter, &torrent, &out, &relay_addr);
    let finished = getter.wait_success(TRANSFER_TIMEOUT);
    payload.assert_downloaded(&out);
    // Stop A and C before reading their logs, so each has logged its connections' totals.
    stop(&mut seed);
    stop(&mut relay);

    // The proof, from whichever end runs shoal: blocks between A and B's public addresses.
    let (log, peer_ip, direction, first_line) = match (roles.getter, roles.seed) {
        (Client::Shoal, _) => (
            finished.stderr.clone(),
            &home_a.public_ip,
            "received",
            "first block received from this peer",
        ),
        (Client::Libtorrent, Client::Shoal) => (
            seed.stderr(),
            &home_b.public_ip,
            "sent",
            "first block sent to this peer",
        ),
        (Client::Libtorrent, Client::Libtorrent) => unreachable!("one end is shoal"),
    };
    let moved = bytes_with(&log, peer_ip, direction);
    let context = || {
        format!(
            "{}\n{}\n{}",
            finished.describe(),
            seed.log_tails(),
            relay.log_tails()
        )
    };
    assert!(
        moved as usize >= DIRECT_AT_LEAST,
        "only {moved} of {FILE_LEN} bytes moved between the homes directly ({direction} by \
         shoal with {peer_ip}): the data went through C\n{}",
        context()
    );
    // The way the homes met: a rendezvous, when the relay or the asker runs shoal.
    if roles.relay == Client::Shoal {
        assert!(
            relay.stderr().contains("relaying a hole punch"),
            "C relayed no rendezvous\n{}",
            context()
        );
    }
    if roles.getter == Client::Shoal {
        assert!(
            finished
                .stderr
                .contains("asking its introducer for a hole punch"),
            "B asked for no rendezvous\n{}",
            context()
        );
    }
    let first = first_time(&log, peer_ip, first_line)
        .unwrap_or_else(|| panic!("no `{first_line}` line for {peer_ip}\n{}", context()));
    let since_start = first - seconds_of_day(started);
    // The milestones, for whoever reads the test's output.
    for (who, log) in [
        ("B", &finished.stderr),
        ("C", &relay.stderr()),
        ("A", &seed.stderr()),
    ] {
        for line in log
            .lines()
            .filter(|l| MILESTONES.iter().any(|m| l.contains(m)))
        {
            eprintln!("{who}: {line}");
        }
    }
    eprintln!(
        "hole punch ({roles:?}): first block between the homes {since_start:.2} s after B \
         started; {moved} of {FILE_LEN} bytes moved directly",
        roles = (roles.seed, roles.relay, roles.getter)
    );
}

/// SIGTERM, so that shoal shuts down and logs each connection's totals; SIGKILL if it has
/// not exited within ten seconds.
fn stop(proc: &mut Proc) {
    if proc.try_exit().is_none() {
        let _ = Command::new("kill")
            .args(["-TERM", &proc.id().to_string()])
            .status();
        common::wait_until(Duration::from_secs(10), || proc.try_exit().is_some());
    }
    proc.kill();
}

/// Slows C both ways: what it sends is shaped (the WAN host's own traffic leaves through
/// br0; what the bridge forwards between the routers does not), and what is addressed to
/// it is policed by nftables on its input hook (frames bridged between the routers never
/// reach it). So C serves B only a trickle and, still downloading itself, stays in the
/// swarm as a relay: a C that finished would drop the seed A as useless to it.
fn throttle_relay(lab: &NatLab) {
    let script = format!(
        "tc qdisc add dev br0 root tbf rate {RELAY_UPLINK} burst 16kb latency 300ms && \
         nft add table inet relay && \
         nft add chain inet relay input '{{ type filter hook input priority 0; policy accept; }}' && \
         nft add rule inet relay input ip daddr {WAN_HOST} limit rate over {RELAY_DOWNLINK} drop"
    );
    let out = Command::new("ip")
        .args(["netns", "exec", &lab.wan_ns, "sh", "-c", &script])
        .output()
        .expect("run tc and nft");
    assert!(out.status.success(), "`{script}` failed: {out:?}");
}

fn shoal_args(common: &[&str]) -> Vec<OsString> {
    common.iter().map(OsString::from).collect()
}

fn start_relay(lab: &NatLab, t: &TestDir, client: Client, torrent: &Path) -> Proc {
    let out = t.subdir("out-c");
    let listen = format!("{WAN_HOST}:{PORT}");
    match client {
        Client::Shoal => {
            let mut args = args!["get", torrent, "-o", &out];
            args.extend(shoal_args(&[
                "--listen",
                &listen,
                "--seed",
                "--no-dht",
                "--no-lsd",
                "--transport",
                "utp",
            ]));
            let mut proc = lab.spawn_shoal(&lab.wan_ns, t, "shoal-relay", args);
            let ns = lab.wan_ns.clone();
            let up = common::wait_until(Duration::from_secs(30), || udp_bound(&ns, &listen));
            assert!(up, "C is not listening\n{}", proc.log_tails());
            let _ = proc.try_exit();
            proc
        }
        Client::Libtorrent => {
            let mut args = lt_args("get", torrent, &out, WAN_HOST, &[]);
            args.extend(args!["--seed-after"]);
            let mut proc = lab.spawn(&lab.wan_ns, t, "libtorrent-relay", DEBIAN_PYTHON, args);
            listening_port(&mut proc);
            proc
        }
    }
}

fn start_seed(
    lab: &NatLab,
    t: &TestDir,
    client: Client,
    torrent: &Path,
    payload: &Payload,
    relay: &str,
) -> Proc {
    let ns = &lab.homes[0].home_ns;
    match client {
        Client::Shoal => {
            let mut args = args!["seed", torrent, "--data", &payload.data_dir];
            args.extend(home_shoal_args(relay));
            lab.spawn_shoal(ns, t, "shoal-seed-a", args)
        }
        Client::Libtorrent => {
            let args = lt_args("seed", torrent, &payload.data_dir, "0.0.0.0", &[relay]);
            let mut proc = lab.spawn(ns, t, "libtorrent-seed-a", DEBIAN_PYTHON, args);
            proc.wait_for_line(Duration::from_secs(60), "`seeding`", |l| l == "seeding");
            proc
        }
    }
}

fn start_getter(
    lab: &NatLab,
    t: &TestDir,
    client: Client,
    torrent: &Path,
    out: &Path,
    relay: &str,
) -> Proc {
    let ns = &lab.homes[1].home_ns;
    match client {
        Client::Shoal => {
            let mut args = args!["get", torrent, "-o", out];
            args.extend(home_shoal_args(relay));
            lab.spawn_shoal(ns, t, "shoal-get-b", args)
        }
        Client::Libtorrent => {
            let args = lt_args("get", torrent, out, "0.0.0.0", &[relay]);
            lab.spawn(ns, t, "libtorrent-get-b", DEBIAN_PYTHON, args)
        }
    }
}

/// A home's shoal: knows only the relay, speaks uTP only, finds nobody any other way.
fn home_shoal_args(relay: &str) -> Vec<OsString> {
    shoal_args(&[
        "--listen",
        &format!("0.0.0.0:{PORT}"),
        "--peer",
        relay,
        "--no-dht",
        "--no-lsd",
        "--transport",
        "utp",
    ])
}

/// lt_client.py in `mode` (seed: `dir` is its data; get: its save folder), uTP only.
fn lt_args(mode: &str, torrent: &Path, dir: &Path, host: &str, peers: &[&str]) -> Vec<OsString> {
    let dir_flag = if mode == "seed" { "--data" } else { "--save" };
    let mut args = args![
        interop_script("lt_client.py"),
        mode,
        "--torrent",
        torrent,
        dir_flag,
        dir,
        "--host",
        host,
        "--listen",
        PORT.to_string(),
        "--transport",
        "utp",
        "--timeout",
        "300"
    ];
    for peer in peers {
        args.extend(args!["--peer", peer]);
    }
    args
}

/// Whether the relay has a peer connected from `ip`.
fn relay_sees(relay: &Proc, client: Client, ip: &str) -> bool {
    match client {
        Client::Shoal => relay
            .stderr()
            .lines()
            .any(|l| l.contains(&format!("addr={ip}:")) && l.contains("connected")),
        // lt_client prints only a count: the bystander is its first peer, A its second.
        Client::Libtorrent => {
            let want = if ip == WAN_HOST { "peers=1" } else { "peers=2" };
            relay
                .stdout()
                .lines()
                .any(|l| l.starts_with("progress") && l.contains(want))
        }
    }
}

fn udp_bound(ns: &str, addr: &str) -> bool {
    Command::new("ip")
        .args(["netns", "exec", ns, "ss", "-lun"])
        .output()
        .is_ok_and(|o| String::from_utf8_lossy(&o.stdout).contains(&format!("{addr} ")))
}

/// Bytes shoal's log says moved (`received` or `sent`) over connections with `ip`, from
/// its `connection gone after moving blocks` lines.
fn bytes_with(log: &str, ip: &str, direction: &str) -> u64 {
    let key = format!("{direction}=");
    log.lines()
        .filter(|l| {
            l.contains("connection gone after moving blocks") && l.contains(&format!("addr={ip}:"))
        })
        .filter_map(|l| {
            let at = l.find(&key)? + key.len();
            let digits: String = l[at..].chars().take_while(char::is_ascii_digit).collect();
            digits.parse::<u64>().ok()
        })
        .sum()
}

/// The time of day (UTC seconds) of the first log line with `what` naming `ip`.
fn first_time(log: &str, ip: &str, what: &str) -> Option<f64> {
    let line = log
        .lines()
        .find(|l| l.contains(what) && l.contains(&format!("addr={ip}:")))?;
    // `2026-12-08T03:10:00.123456Z  DEBUG ...`
    let time = line.split_whitespace().next()?.split('T').nth(1)?;
    let time = time.trim_end_matches('Z');
    let mut parts = time.split(':');
    let h: f64 = parts.next()?.parse().ok()?;
    let m: f64 = parts.next()?.parse().ok()?;
    let s: f64 = parts.next()?.parse().ok()?;
    Some(h * 3600.0 + m * 60.0 + s)
}

fn seconds_of_day(at: SystemTime) -> f64 {
    let since_epoch = at
        .duration_since(SystemTime::UNIX_EPOCH)
        .expect("after 1970")
        .as_secs_f64();
    since_epoch % 86_400.0
}
