//! Peer discovery without addresses: `shoal share` and `shoal get <bare info-hash>` (no
//! `--peer`, no `x.pe` hint) find each other through one source alone.
//!
//! * DHT: a private Mainline DHT of 12 libtorrent nodes on 127.0.0.1
//!   (tests/interop/lt_dht_net.py); both shoals bootstrap from three of its nodes and run
//!   with `--no-lsd`. The public routers are never contacted.
//! * DHT interop: shoal and a libtorrent session bootstrap into such a private DHT;
//!   libtorrent's lookup returns
//!   shoal's announced address and it downloads from shoal, and shoal finds libtorrent's
//!   announce and downloads from it (tests/interop/lt_dht.py).
//! * LSD: two network namespaces joined by a veth link (needs root); the shoals run with
//!   `--no-dht` and the BEP 14 groups, which stay inside the pair.
//!
//! Each test prints how long the lookup took, for the record.

mod common;

use common::discovery::{self, NetnsPair};
use common::payload::{self, Maker, MIB};
use common::tools::{interop_script, require, Tool, DEBIAN_PYTHON};
use common::{TestDir, TRANSFER_TIMEOUT};
use std::time::{Duration, Instant};

/// The info-hash the `share` magnet carries, as 40 hex digits.
fn bare_info_hash(magnet: &str) -> String {
    let hash = common::magnet::info_hash(magnet)
        .unwrap_or_else(|| panic!("no info-hash in the magnet {magnet}"));
    assert_eq!(hash.len(), 40, "not a hex info-hash: {hash}");
    hash
}

#[test]
fn share_and_get_by_bare_info_hash_meet_through_a_private_dht() {
    let t = TestDir::new("dht-shoal-shoal");
    let testnet = discovery::LtDhtNet::start(&t, 12);
    let payload = payload::single_file(&t, "src", "dht.bin", 2 * MIB + 77, 11);

    let mut args = args!["share", payload.content(), "--listen", "127.0.0.1:0"];
    args.extend(discovery::dht_args(&t, "share", &testnet));
    let mut share = discovery::spawn_shoal(&t, "shoal-share", args);
    let magnet = share.first_line(Duration::from_secs(30), "magnet link");
    let hash = bare_info_hash(&magnet);
    // Once the sharer's announce is stored, the getter's lookup must find it. (Started any
    // earlier, the getter may instead be found by the sharer's own lookups after announcing
    // itself, and then never need its own.)
    share.wait_for_output(
        Duration::from_secs(30),
        "the sharer's first DHT announce",
        |log| log.contains("announced on the DHT"),
    );

    let out = t.subdir("out");
    let mut args = args!["get", &hash, "-o", &out, "--listen", "127.0.0.1:0"];
    args.extend(discovery::dht_args(&t, "get", &testnet));
    let started = Instant::now();
    let finished = discovery::spawn_shoal(&t, "shoal-get", args).wait_success(TRANSFER_TIMEOUT);
    let total = started.elapsed();
    payload.assert_downloaded(&out);

    let lookup = discovery::logged_elapsed_ms(&finished.stderr, "DHT: first peers found");
    eprintln!(
        "DHT: shoal get's lookup found the sharer {lookup:?} ms after its DHT task started; \
         {}; whole get {total:?}",
        first_peer(&finished.stderr)
    );
    assert!(
        lookup.is_some(),
        "shoal get completed but never logged peers from the DHT:\n{}",
        finished.describe()
    );
    // The sharer saves its routing table on shutdown; here it is still running, so check
    // the getter's, written when it exited.
    assert!(
        discovery::non_empty(&t.join("get.dht-nodes")),
        "shoal get did not save its DHT routing table"
    );
    drop(share);
}

#[test]
fn share_and_get_by_bare_info_hash_meet_through_lsd_in_network_namespaces() {
    let t = TestDir::new("lsd-shoal-shoal");
    let Some(net) = NetnsPair::create("lsd") else {
        return;
    };
    let payload = payload::single_file(&t, "src", "lsd.bin", 2 * MIB + 99, 12);

    let args = args![
        "share",
        payload.content(),
        "--listen",
        "0.0.0.0:0",
        "--no-dht"
    ];
    let mut share = net.spawn_shoal(0, &t, "shoal-share", args);
    let magnet = share.first_line(Duration::from_secs(30), "magnet link");
    let hash = bare_info_hash(&magnet);

    let out = t.subdir("out");
    let args = args![
        "get",
        &hash,
        "-o",
        &out,
        "--listen",
        "0.0.0.0:0",
        "--no-dht"
    ];
    let started = Instant::now();
    let mut get = net.spawn_shoal(1, &t, "shoal-get", args);
    // The getter's announce reaches the sharer, which dials it.
    let found = common::wait_until(TRANSFER_TIMEOUT, || {
        share.stderr().contains("LSD found peers") || get.try_exit().is_some()
    });
    let lookup = started.elapsed();
    let finished = get.wait_success(TRANSFER_TIMEOUT);
    let total = started.elapsed();
    payload.assert_downloaded(&out);

    let sharer_log = share.stderr();
    assert!(
        found && sharer_log.contains("LSD found peers"),
        "the sharer never found the getter through LSD:\n{}\n{}",
        sharer_log,
        finished.describe()
    );
    eprintln!(
        "LSD: the sharer found shoal get {lookup:?} after it started; {}; whole get {total:?}",
        first_peer(&finished.stderr)
    );
    drop(share);
    drop(get);
    drop(net);
}

/// shoal's "first peer connected after N s (found by SOURCE)" log line, for the record.
fn first_peer(stderr: &str) -> String {
    stderr
        .lines()
        .find_map(|l| l.find("first peer connected").map(|i| l[i..].to_string()))
        .unwrap_or_else(|| "no first-peer line".to_string())
}

/// lt_dht.py's `first-peer MS`.
fn lt_first_peer(stdout: &str) -> Option<u64> {
    stdout
        .lines()
        .find_map(|l| l.strip_prefix("first-peer ")?.parse().ok())
}

/// `tests/interop/lt_dht.py MODE ARGS --bootstrap N...`.
fn lt_dht(
    t: &TestDir,
    label: &str,
    bootstrap: &[String],
    args: Vec<std::ffi::OsString>,
) -> common::Proc {
    let mut all = args![interop_script("lt_dht.py")];
    all.extend(args);
    for node in bootstrap {
        all.extend(args!["--bootstrap", node]);
    }
    common::Proc::spawn(t, label, DEBIAN_PYTHON, all)
}

/// Nodes of the libtorrent DHT used by the interop tests (see [`discovery::LtDhtNet`]).
const LT_DHT_NODES: usize = 12;
/// The interop tests' bound on a whole transfer: a lookup on a 12-node loopback DHT takes
/// a few seconds at most.
const INTEROP_TIMEOUT: Duration = Duration::from_secs(60);

/// Arguments of the libtorrent helper scripts that download `hash` into `out`
/// from whatever peer their discovery finds.
fn lt_get_args(hash: &str, out: &std::path::Path) -> Vec<std::ffi::OsString> {
    let timeout = INTEROP_TIMEOUT.as_secs().to_string();
    args![
        "get",
        "--info-hash",
        hash,
        "--save",
        out,
        "--timeout",
        &timeout
    ]
}

#[test]
fn libtorrent_finds_shoals_dht_announce_and_downloads_from_it() {
    if !require(&[Tool::Libtorrent]) {
        return;
    }
    let t = TestDir::new("dht-shoal-to-libtorrent");
    let net = discovery::LtDhtNet::start(&t, LT_DHT_NODES);
    let payload = payload::single_file(&t, "src", "to-lt.bin", 2 * MIB + 5, 13);
    let mut args = args!["share", payload.content(), "--listen", "127.0.0.1:0"];
    args.extend(discovery::dht_args_from(&t, "share", &net.nodes[..3]));
    let mut share = discovery::spawn_shoal(&t, "shoal-share", args);
    let magnet = share.first_line(Duration::from_secs(30), "magnet link");
    let hash = bare_info_hash(&magnet);
    let shoal_peer = common::magnet::peer_hints(&magnet)
        .into_iter()
        .next()
        .unwrap_or_else(|| panic!("no x.pe in the magnet {magnet}"));
    // Once shoal's announce is stored, libtorrent's lookups must return it.
    share.wait_for_output(
        Duration::from_secs(30),
        "shoal's first DHT announce",
        |log| log.contains("announced on the DHT"),
    );

    // libtorrent knows other nodes of the DHT than shoal does.
    let out = t.subdir("out");
    let get_args = lt_get_args(&hash, &out);
    let mut get = lt_dht(&t, "libtorrent-get", &net.nodes[6..9], get_args);
    let finished = get.wait_success(INTEROP_TIMEOUT + Duration::from_secs(10));
    payload.assert_downloaded(&out);
    let found = finished.stdout.lines().find_map(|l| {
        let rest = l.strip_prefix("dht-peer ")?;
        let (peer, ms) = rest.split_once(' ')?;
        (peer == shoal_peer).then(|| ms.to_string())
    });
    eprintln!(
        "DHT: libtorrent's lookup returned shoal {found:?} ms after libtorrent started; \
         first peer at {:?} ms",
        lt_first_peer(&finished.stdout)
    );
    assert!(
        found.is_some(),
        "libtorrent's DHT lookups never returned shoal's address {shoal_peer}:\n{}",
        finished.describe()
    );
    drop(share);
    drop(net);
}

#[test]
fn shoal_finds_libtorrents_dht_announce_and_downloads_from_it() {
    if !require(&[Tool::Libtorrent]) {
        return;
    }
    let t = TestDir::new("dht-libtorrent-to-shoal");
    let net = discovery::LtDhtNet::start(&t, LT_DHT_NODES);
    let payload = payload::single_file(&t, "src", "from-lt.bin", 2 * MIB + 9, 14);
    let torrent = payload::make_torrent(&t, Maker::Shoal, &payload, "from-lt.torrent");
    let data_dir = payload
        .content()
        .parent()
        .expect("payload in a folder")
        .to_path_buf();
    let timeout = (INTEROP_TIMEOUT.as_secs() * 2).to_string();
    let seed_args = args![
        "seed",
        "--torrent",
        &torrent,
        "--data",
        &data_dir,
        "--timeout",
        &timeout
    ];
    // The libtorrent seed never dials out (see lt_dht.py): shoal must find it.
    let mut seed = lt_dht(&t, "libtorrent-seed", &net.nodes[..3], seed_args);
    seed.wait_for_line(Duration::from_secs(30), "`seeding`", |line| {
        line == "seeding"
    });
    let hash = common::libtorrent::info_hash(&t, common::libtorrent::Source::Torrent(&torrent));

    let out = t.subdir("out");
    let mut args = args!["get", &hash, "-o", &out, "--listen", "127.0.0.1:0"];
    args.extend(discovery::dht_args_from(&t, "get", &net.nodes[6..9]));
    let finished = discovery::spawn_shoal(&t, "shoal-get", args).wait_success(INTEROP_TIMEOUT);
    payload.assert_downloaded(&out);
    let lookup = discovery::logged_elapsed_ms(&finished.stderr, "DHT: first peers found");
    eprintln!(
        "DHT: shoal get's lookup found libtorrent {lookup:?} ms after its DHT task started; {}",
        first_peer(&finished.stderr)
    );
    assert!(
        lookup.is_some(),
        "shoal never logged DHT peers:\n{}",
        finished.describe()
    );
    drop(seed);
    drop(net);
}

/// `tests/interop/lt_dht.py MODE --lsd --listen ADDR:0 ARGS` in one namespace of `net`.
fn lt_lsd(
    net: &NetnsPair,
    side: usize,
    t: &TestDir,
    label: &str,
    args: Vec<std::ffi::OsString>,
) -> common::Proc {
    // Its own address, not 0.0.0.0: with port 0 libtorrent takes one port per interface
    // but announces only the first (loopback's) on LSD.
    let listen = format!("{}:0", net.addrs[side]);
    let mut all = args![interop_script("lt_dht.py")];
    all.extend(args);
    all.extend(args!["--lsd", "--listen", listen]);
    net.spawn(side, t, label, DEBIAN_PYTHON, all)
}

#[test]
fn shoal_finds_libtorrents_lsd_announce_and_downloads_from_it() {
    if !require(&[Tool::Libtorrent]) {
        return;
    }
    let t = TestDir::new("lsd-libtorrent-to-shoal");
    let Some(net) = NetnsPair::create("ltlsd") else {
        return;
    };
    let payload = payload::single_file(&t, "src", "lsd-from-lt.bin", 2 * MIB + 21, 15);
    let torrent = payload::make_torrent(&t, Maker::Shoal, &payload, "lsd-from-lt.torrent");
    let hash = common::libtorrent::info_hash(&t, common::libtorrent::Source::Torrent(&torrent));
    let data_dir = payload
        .content()
        .parent()
        .expect("payload in a folder")
        .to_path_buf();

    // shoal waits first; libtorrent announces when its torrent starts (and then only every
    // five minutes), and never dials out as a seed: shoal must hear it and dial it.
    let out = t.subdir("out");
    let args = args![
        "get",
        &hash,
        "-o",
        &out,
        "--listen",
        "0.0.0.0:0",
        "--no-dht"
    ];
    let mut get = net.spawn_shoal(1, &t, "shoal-get", args);
    get.wait_for_output(
        Duration::from_secs(30),
        "shoal's first LSD announce",
        |log| log.contains("LSD announce sent"),
    );
    let timeout = (INTEROP_TIMEOUT.as_secs() * 2).to_string();
    let seed_args = args![
        "seed",
        "--torrent",
        &torrent,
        "--data",
        &data_dir,
        "--timeout",
        &timeout
    ];
    let started = Instant::now();
    let seed = lt_lsd(&net, 0, &t, "libtorrent-seed", seed_args);
    let found = common::wait_until(INTEROP_TIMEOUT, || {
        get.stderr().contains("LSD found peers") || get.try_exit().is_some()
    });
    let lookup = started.elapsed();
    let finished = get.wait_success(INTEROP_TIMEOUT);
    payload.assert_downloaded(&out);
    assert!(
        found && finished.stderr.contains("LSD found peers"),
        "shoal never found libtorrent through LSD:\n{}",
        finished.describe()
    );
    eprintln!(
        "LSD: shoal found libtorrent {lookup:?} after libtorrent was started; {}",
        first_peer(&finished.stderr)
    );
    drop(seed);
    drop(net);
}

#[test]
fn libtorrent_finds_shoals_lsd_announce_and_downloads_from_it() {
    if !require(&[Tool::Libtorrent]) {
        return;
    }
    let t = TestDir::new("lsd-shoal-to-libtorrent");
    let Some(net) = NetnsPair::create("ltlsd") else {
        return;
    };
    let payload = payload::single_file(&t, "src", "lsd-to-lt.bin", 2 * MIB + 23, 16);
    let hash = {
        let torrent = payload::make_torrent(&t, Maker::Shoal, &payload, "lsd-to-lt.torrent");
        common::libtorrent::info_hash(&t, common::libtorrent::Source::Torrent(&torrent))
    };

    // libtorrent waits first; shoal announces when its torrent starts.
    let out = t.subdir("out");
    let get_args = lt_get_args(&hash, &out);
    let mut get = lt_lsd(&net, 1, &t, "libtorrent-get", get_args);
    get.wait_for_line(Duration::from_secs(30), "`listening`", |l| {
        l.starts_with("listening ")
    });
    let listen = format!("{}:0", net.addrs[0]);
    let args = args!["share", payload.content(), "--listen", &listen, "--no-dht"];
    let started = Instant::now();
    let mut share = net.spawn_shoal(0, &t, "shoal-share", args);
    let magnet = share.first_line(Duration::from_secs(30), "magnet link");
    assert_eq!(bare_info_hash(&magnet), hash);
    let shoal_peer = common::magnet::peer_hints(&magnet)
        .into_iter()
        .next()
        .unwrap_or_else(|| panic!("no x.pe in the magnet {magnet}"));

    let finished = get.wait_success(INTEROP_TIMEOUT + Duration::from_secs(10));
    payload.assert_downloaded(&out);
    let found = finished.stdout.lines().find_map(|l| {
        let rest = l.strip_prefix("lsd-peer ")?;
        let (ms, message) = rest.split_once(' ')?;
        message.contains(&shoal_peer).then(|| ms.to_string())
    });
    eprintln!(
        "LSD: libtorrent found shoal {found:?} ms after libtorrent started (shoal started \
         once it listened); first peer at {:?} ms; whole test transfer {:?}",
        lt_first_peer(&finished.stdout),
        started.elapsed()
    );
    assert!(
        found.is_some(),
        "libtorrent never found shoal's {shoal_peer} through LSD:\n{}",
        finished.describe()
    );
    drop(share);
    drop(net);
}
