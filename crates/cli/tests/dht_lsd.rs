//! Peer discovery without addresses: `shoal share` and `shoal get <bare info-hash>` (no
//! `--peer`, no `x.pe` hint) find each other through one source alone.
//!
//! * DHT: a private Mainline DHT of 24 nodes on 127.0.0.1 runs inside the test process
//!   (the `mainline` crate's testnet); both shoals bootstrap from three of its nodes and
//!   run with `--no-lsd`. The public routers are never contacted.
//! * DHT interop: a libtorrent session on the same testnet finds shoal's announce and
//!   downloads from it, and shoal finds libtorrent's (tests/interop/lt_dht.py).
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
    let testnet = discovery::testnet(24);
    let payload = payload::single_file(&t, "src", "dht.bin", 2 * MIB + 77, 11);

    let mut args = args!["share", payload.content(), "--listen", "127.0.0.1:0"];
    args.extend(discovery::dht_args(&t, "share", &testnet));
    let mut share = discovery::spawn_shoal(&t, "shoal-share", args);
    let magnet = share.first_line(Duration::from_secs(30), "magnet link");
    let hash = bare_info_hash(&magnet);

    let out = t.subdir("out");
    let mut args = args!["get", &hash, "-o", &out, "--listen", "127.0.0.1:0"];
    args.extend(discovery::dht_args(&t, "get", &testnet));
    let started = Instant::now();
    let finished = discovery::spawn_shoal(&t, "shoal-get", args).wait_success(TRANSFER_TIMEOUT);
    let total = started.elapsed();
    payload.assert_downloaded(&out);

    let lookup = discovery::logged_elapsed_ms(&finished.stderr, "DHT: first peers found");
    eprintln!("DHT lookup (get start to first peer): {lookup:?} ms; whole get: {total:?}");
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
    eprintln!("LSD lookup (get start to the sharer finding it): {lookup:?}; whole get: {total:?}");
    drop(share);
    drop(get);
    drop(net);
}

/// `tests/interop/lt_dht.py MODE ARGS --bootstrap N...` for three testnet nodes.
fn lt_dht(
    t: &TestDir,
    label: &str,
    testnet: &mainline::Testnet,
    args: Vec<std::ffi::OsString>,
) -> common::Proc {
    let mut all = args![interop_script("lt_dht.py")];
    all.extend(args);
    for node in testnet.bootstrap.iter().take(3) {
        all.extend(args!["--bootstrap", node]);
    }
    common::Proc::spawn(t, label, DEBIAN_PYTHON, all)
}

#[test]
#[ignore = "libtorrent 2.0 never bootstraps from the mainline testnet here (its dht_nodes stays 0); see docs/ARCHITECTURE.md"]
fn libtorrent_finds_shoals_dht_announce_and_downloads_from_it() {
    if !require(&[Tool::Libtorrent]) {
        return;
    }
    let t = TestDir::new("dht-shoal-to-libtorrent");
    let testnet = discovery::testnet(24);
    let payload = payload::single_file(&t, "src", "to-lt.bin", 2 * MIB + 5, 13);
    let mut args = args!["share", payload.content(), "--listen", "127.0.0.1:0"];
    args.extend(discovery::dht_args(&t, "share", &testnet));
    let mut share = discovery::spawn_shoal(&t, "shoal-share", args);
    let hash = bare_info_hash(&share.first_line(Duration::from_secs(30), "magnet link"));

    let out = t.subdir("out");
    let get_args = args![
        "get",
        "--info-hash",
        &hash,
        "--save",
        &out,
        "--timeout",
        "240"
    ];
    let mut get = lt_dht(&t, "libtorrent-get", &testnet, get_args);
    let finished = get.wait_success(TRANSFER_TIMEOUT);
    payload.assert_downloaded(&out);
    let first_peer = finished
        .stdout
        .lines()
        .find_map(|l| l.strip_prefix("first-peer "))
        .map(str::to_string);
    eprintln!("libtorrent DHT lookup (start to first peer): {first_peer:?} ms");
    drop(share);
}

#[test]
#[ignore = "libtorrent 2.0 never bootstraps from the mainline testnet here (its dht_nodes stays 0); see docs/ARCHITECTURE.md"]
fn shoal_finds_libtorrents_dht_announce_and_downloads_from_it() {
    if !require(&[Tool::Libtorrent]) {
        return;
    }
    let t = TestDir::new("dht-libtorrent-to-shoal");
    let testnet = discovery::testnet(24);
    let payload = payload::single_file(&t, "src", "from-lt.bin", 2 * MIB + 9, 14);
    let torrent = payload::make_torrent(&t, Maker::Shoal, &payload, "from-lt.torrent");
    let data_dir = payload
        .content()
        .parent()
        .expect("payload in a folder")
        .to_path_buf();
    let seed_args = args![
        "seed",
        "--torrent",
        &torrent,
        "--data",
        &data_dir,
        "--timeout",
        "300"
    ];
    let mut seed = lt_dht(&t, "libtorrent-seed", &testnet, seed_args);
    seed.wait_for_line(Duration::from_secs(30), "`seeding`", |line| {
        line == "seeding"
    });
    let hash = common::libtorrent::info_hash(&t, common::libtorrent::Source::Torrent(&torrent));

    let out = t.subdir("out");
    let mut args = args!["get", &hash, "-o", &out, "--listen", "127.0.0.1:0"];
    args.extend(discovery::dht_args(&t, "get", &testnet));
    let finished = discovery::spawn_shoal(&t, "shoal-get", args).wait_success(TRANSFER_TIMEOUT);
    payload.assert_downloaded(&out);
    let lookup = discovery::logged_elapsed_ms(&finished.stderr, "DHT: first peers found");
    eprintln!("shoal DHT lookup of libtorrent's peer (get start to first peer): {lookup:?} ms");
    assert!(
        lookup.is_some(),
        "shoal never logged DHT peers:\n{}",
        finished.describe()
    );
    drop(seed);
}
