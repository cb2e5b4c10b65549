//! shoal's own DHT node serves the DHT, over IPv4 and over IPv6 (BEP 32): in a private DHT
//! made only of shoal nodes, libtorrent (whose KRPC transaction ids are 2 bytes long, where
//! the `mainline` crate shoal used before decoded only 4) bootstraps (ping, find_node),
//! looks up peers (get_peers) and announces (announce_peer), and gets valid answers:
//!
//! 1. two shoals share files, each bootstrapping from the other: a DHT of two shoal nodes;
//!    a shoal getter bootstrapped from the second finds the first and downloads;
//! 2. libtorrent, bootstrapped from the first shoal node only, looks up the first torrent:
//!    the answer must name the first shoal (stored by the second node from its announce),
//!    and libtorrent downloads from it;
//! 3. a libtorrent seed announces a third torrent into the shoal nodes; a third shoal,
//!    bootstrapped from the second node only, finds the libtorrent seed there and downloads.
//!
//! Run on 127.0.0.1 and on ::1 (an IPv6-only private DHT, where shoal also meets shoal).

mod common;

use common::discovery;
use common::payload::{self, Maker, MIB};
use common::tools::{interop_script, require, Tool, DEBIAN_PYTHON};
use common::{TestDir, TRANSFER_TIMEOUT};
use std::time::Duration;

/// Wait for a walk to store our announce on at least one node.
fn wait_announced(proc: &mut common::Proc, what: &str) {
    proc.wait_for_output(Duration::from_secs(60), what, |log| {
        log.lines()
            .any(|l| l.contains("announced on the DHT") && !l.contains("stored=0"))
    });
}

/// `host:port` with brackets around an IPv6 host.
fn endpoint(host: &str, port: u16) -> String {
    if host.contains(':') {
        format!("[{host}]:{port}")
    } else {
        format!("{host}:{port}")
    }
}

fn shoal_nodes_serve_libtorrent(host: &str, tag: &str) {
    if !require(&[Tool::Libtorrent]) {
        return;
    }
    let t = TestDir::new(&format!("dht-node-{tag}"));
    let [p1, p2] = [common::free_port(), common::free_port()];
    let (n1, n2) = (endpoint(host, p1), endpoint(host, p2));

    // 1. Two shoal nodes, each sharing a file.
    let first = payload::single_file(&t, "src1", "first.bin", MIB + 11, 81);
    let second = payload::single_file(&t, "src2", "second.bin", MIB + 13, 82);
    let mut args = args!["share", first.content(), "--listen", &n1];
    args.extend(discovery::dht_args_from(
        &t,
        "n1",
        std::slice::from_ref(&n2),
    ));
    let mut node1 = discovery::spawn_shoal(&t, "shoal-node1", args);
    let magnet = node1.first_line(Duration::from_secs(30), "magnet link");
    let hash = common::magnet::info_hash(&magnet).expect("info-hash in the magnet");
    let mut args = args!["share", second.content(), "--listen", &n2];
    args.extend(discovery::dht_args_from(
        &t,
        "n2",
        std::slice::from_ref(&n1),
    ));
    let mut node2 = discovery::spawn_shoal(&t, "shoal-node2", args);
    node2.first_line(Duration::from_secs(30), "magnet link");
    wait_announced(
        &mut node1,
        "the first shoal's announce stored on the second node",
    );

    // A shoal getter, bootstrapped from the second node only, finds the first shoal.
    let out = t.subdir("out-shoal-first");
    let get_listen = endpoint(host, 0);
    let mut args = args!["get", &hash, "-o", &out, "--listen", &get_listen];
    args.extend(discovery::dht_args_from(
        &t,
        "n0",
        std::slice::from_ref(&n2),
    ));
    let got = discovery::spawn_shoal(&t, "shoal-get-first", args).wait_success(TRANSFER_TIMEOUT);
    first.assert_downloaded(&out);
    assert!(
        got.stderr.contains("DHT: first peers found"),
        "the shoal getter found no peer on the DHT\n{}",
        got.describe()
    );

    // 2. libtorrent looks up the first torrent through the shoal nodes.
    let out = t.subdir("out-lt");
    let listen = endpoint(host, 0);
    let lt = args![
        interop_script("lt_dht.py"),
        "get",
        "--info-hash",
        &hash,
        "--save",
        &out,
        "--listen",
        &listen,
        "--bootstrap",
        &n1,
        "--timeout",
        "120"
    ];
    let finished =
        common::Proc::spawn(&t, "libtorrent-get", DEBIAN_PYTHON, lt).wait_success(TRANSFER_TIMEOUT);
    first.assert_downloaded(&out);
    assert!(
        finished
            .stdout
            .lines()
            .any(|l| l.starts_with(&format!("dht-peer {n1} "))),
        "libtorrent's lookups through the shoal nodes never returned the first shoal {n1}\n{}",
        finished.describe()
    );

    // 3. A libtorrent seed announces into the shoal nodes; a third shoal finds it there.
    let third = payload::single_file(&t, "src3", "third.bin", MIB + 17, 83);
    let torrent = payload::make_torrent(&t, Maker::Shoal, &third, "third.torrent");
    let data_dir = third.content().parent().expect("in a folder").to_path_buf();
    let mut seed = common::Proc::spawn(
        &t,
        "libtorrent-seed",
        DEBIAN_PYTHON,
        args![
            interop_script("lt_dht.py"),
            "seed",
            "--torrent",
            &torrent,
            "--data",
            &data_dir,
            "--listen",
            &listen,
            "--bootstrap",
            &n1,
            "--timeout",
            "120"
        ],
    );
    seed.wait_for_line(Duration::from_secs(30), "`seeding`", |l| l == "seeding");
    let third_hash =
        common::libtorrent::info_hash(&t, common::libtorrent::Source::Torrent(&torrent));
    let out = t.subdir("out-shoal");
    let mut args = args!["get", &third_hash, "-o", &out, "--listen", &get_listen];
    args.extend(discovery::dht_args_from(
        &t,
        "n3",
        std::slice::from_ref(&n2),
    ));
    let got = discovery::spawn_shoal(&t, "shoal-get", args).wait_success(TRANSFER_TIMEOUT);
    third.assert_downloaded(&out);
    assert!(
        got.stderr.contains("DHT: first peers found"),
        "the third shoal found no peer on the DHT\n{}",
        got.describe()
    );
    drop(seed);
    drop(node2);
    drop(node1);
}

#[test]
fn shoal_nodes_serve_libtorrent_over_ipv4() {
    shoal_nodes_serve_libtorrent("127.0.0.1", "v4");
}

#[test]
fn shoal_nodes_serve_libtorrent_and_shoal_over_ipv6_only() {
    shoal_nodes_serve_libtorrent("::1", "v6");
}
