//! Self-tests of the test harness: the reference clients trade with each other
//! through the same helpers the shoal tests use. When an interop test fails,
//! these say whether the environment and the harness work, so the fault lies
//! with shoal. They do not run shoal.

mod common;

use common::libtorrent::{self, SeedOptions, Source};
use common::tools::{require, Tool};
use common::{aria2, mktorrent, opentracker, transmission, TestDir, TRANSFER_TIMEOUT};

/// A folder of three files with sizes that do not line up with 256 KiB pieces.
fn folder_payload(t: &TestDir) -> (std::path::PathBuf, std::path::PathBuf) {
    let data = t.subdir("data");
    common::write_tree(
        &data.join("payload"),
        &[
            ("a.bin", 1_048_576 + 4_099),
            ("sub/b.txt", 999),
            ("c", 300_007),
        ],
        7,
    );
    let torrent = t.join("payload.torrent");
    mktorrent::make(t, &data.join("payload"), &torrent, 18);
    (data, torrent)
}

#[test]
fn seeded_bytes_are_reproducible_and_differ_by_seed() {
    assert_eq!(common::seeded_bytes(1, 1000), common::seeded_bytes(1, 1000));
    assert_ne!(common::seeded_bytes(1, 1000), common::seeded_bytes(2, 1000));
    assert_eq!(common::seeded_bytes(3, 12_345).len(), 12_345);
}

#[test]
fn tree_comparison_sees_changed_missing_and_extra_files() {
    let t = TestDir::new("selftest-tree");
    let files = [("x", 5000), ("d/y", 17)];
    common::write_tree(&t.join("a"), &files, 1);
    common::write_tree(&t.join("b"), &files, 1);
    assert_eq!(common::tree_difference(&t.join("a"), &t.join("b")), None);

    common::write_seeded_file(&t.join("b/d/y"), 99, 17);
    assert!(common::tree_difference(&t.join("a"), &t.join("b")).is_some());

    common::write_tree(&t.join("b"), &files, 1);
    common::write_seeded_file(&t.join("b/extra"), 1, 1);
    assert!(common::tree_difference(&t.join("a"), &t.join("b")).is_some());

    std::fs::remove_file(t.join("b/extra")).unwrap();
    std::fs::remove_file(t.join("b/x")).unwrap();
    assert!(common::tree_difference(&t.join("a"), &t.join("b")).is_some());
}

#[test]
fn libtorrent_seeds_to_libtorrent_by_torrent_and_by_magnet() {
    if !require(&[Tool::Libtorrent, Tool::Mktorrent]) {
        return;
    }
    let t = TestDir::new("selftest-lt-lt");
    let (data, torrent) = folder_payload(&t);
    let seed = libtorrent::seed(&t, &torrent, &data, SeedOptions::default());

    let by_torrent = t.subdir("by-torrent");
    libtorrent::get(&t, Source::Torrent(&torrent), &by_torrent, &[seed.addr()])
        .wait_success(TRANSFER_TIMEOUT);
    common::assert_same_tree(&data.join("payload"), &by_torrent.join("payload"));

    let hash = libtorrent::info_hash(&t, Source::Torrent(&torrent));
    let magnet = format!("magnet:?xt=urn:btih:{hash}&dn=payload");
    let by_magnet = t.subdir("by-magnet");
    libtorrent::get(&t, Source::Magnet(&magnet), &by_magnet, &[seed.addr()])
        .wait_success(TRANSFER_TIMEOUT);
    common::assert_same_tree(&data.join("payload"), &by_magnet.join("payload"));
}

#[test]
fn aria2_seeds_to_libtorrent_that_dials_it() {
    if !require(&[Tool::Libtorrent, Tool::Mktorrent, Tool::Aria2]) {
        return;
    }
    let t = TestDir::new("selftest-aria2-lt");
    let (data, torrent) = folder_payload(&t);
    let seed = aria2::seed(&t, &torrent, &data);
    let out = t.subdir("out");
    libtorrent::get(&t, Source::Torrent(&torrent), &out, &[seed.addr()])
        .wait_success(TRANSFER_TIMEOUT);
    common::assert_same_tree(&data.join("payload"), &out.join("payload"));
}

#[test]
fn transmission_seeds_to_libtorrent_that_dials_it() {
    if !require(&[Tool::Libtorrent, Tool::Mktorrent, Tool::Transmission]) {
        return;
    }
    let t = TestDir::new("selftest-tr-lt");
    let (data, torrent) = folder_payload(&t);
    let mut seed = transmission::start(&t, "transmission-seed", &torrent.to_string_lossy(), &data);
    seed.wait_seeding();
    let out = t.subdir("out");
    libtorrent::get(&t, Source::Torrent(&torrent), &out, &[seed.addr()])
        .wait_success(TRANSFER_TIMEOUT);
    common::assert_same_tree(&data.join("payload"), &out.join("payload"));
}

#[test]
fn transmission_downloads_from_libtorrent_that_dials_it() {
    if !require(&[Tool::Libtorrent, Tool::Mktorrent, Tool::Transmission]) {
        return;
    }
    let t = TestDir::new("selftest-lt-tr");
    let (data, torrent) = folder_payload(&t);
    let out = t.subdir("out");
    let mut leech = transmission::start(&t, "transmission-get", &torrent.to_string_lossy(), &out);
    leech.wait_running();
    let options = SeedOptions {
        peers: vec![leech.addr()],
        ..SeedOptions::default()
    };
    let _seed = libtorrent::seed(&t, &torrent, &data, options);
    leech.wait_download(&data.join("payload"), &out.join("payload"));
}

#[test]
fn aria2_downloads_from_libtorrent_found_through_opentracker() {
    if !require(&[
        Tool::Libtorrent,
        Tool::Mktorrent,
        Tool::Aria2,
        Tool::Opentracker,
    ]) {
        return;
    }
    let t = TestDir::new("selftest-tracker");
    let data = t.subdir("data");
    common::write_tree(&data.join("payload"), &[("a.bin", 700_001), ("b", 3)], 8);
    let port = common::free_port();
    let announce = format!("http://127.0.0.1:{port}/announce");
    let torrent = t.join("payload.torrent");
    mktorrent::make_announcing(&t, &data.join("payload"), &torrent, 16, &announce);
    let hash = libtorrent::info_hash(&t, Source::Torrent(&torrent));
    let _tracker = opentracker::start(&t, port, &[hash]);

    // Neither side is told about the other: libtorrent announces, aria2 asks.
    let _seed = libtorrent::seed(&t, &torrent, &data, SeedOptions::default());
    let out = t.subdir("out");
    aria2::get(&t, &torrent, &out).wait_success(TRANSFER_TIMEOUT);
    common::assert_same_tree(&data.join("payload"), &out.join("payload"));
}

/// The NAT lab is a real home router: the home reaches the WAN through masquerade, the WAN
/// cannot open a connection to the home until miniupnpd maps a port, and then it can.
#[test]
fn nat_lab_masquerades_and_miniupnpd_maps_ports() {
    use common::nat::{Gateway, NatLab, WAN_HOST};
    use std::process::Command;
    if !require(&[Tool::Router]) {
        return;
    }
    let t = TestDir::new("nat_lab");
    let gateway = Gateway {
        upnp: true,
        natpmp: true,
    };
    let Some(lab) = NatLab::create(&t, "selftest", &[gateway]) else {
        return;
    };
    let home = &lab.homes[0];
    let in_ns = |ns: &str, script: &str| {
        Command::new("ip")
            .args(["netns", "exec", ns, "sh", "-c", script])
            .output()
            .expect("run a command in a namespace")
    };
    // A listener in the home, dialed from the WAN at the router's public address.
    let listener = lab.spawn(
        &home.home_ns,
        &t,
        "home-listener",
        "python3",
        crate::args![
            "-c",
            "import socket\ns=socket.socket()\ns.setsockopt(socket.SOL_SOCKET,socket.SO_REUSEADDR,1)\ns.bind(('0.0.0.0',40001))\ns.listen()\nwhile True:\n  c,a=s.accept(); c.sendall(b'hello from home\\n'); c.close()"
        ],
    );
    let dial = format!(
        "python3 -c \"import socket; s=socket.create_connection(('{}',40001),timeout=2); print(s.recv(100).decode().strip())\"",
        home.public_ip
    );
    common::wait_until(std::time::Duration::from_secs(5), || {
        in_ns(&home.home_ns, "ss -ltn | grep -q ':40001 '")
            .status
            .success()
    });
    let before = in_ns(&lab.wan_ns, &dial);
    assert!(
        !before.status.success(),
        "the WAN reached the home before any mapping"
    );
    let out = in_ns(&lab.wan_ns, &format!("ping -c1 -W2 {}", home.lan_ip));
    assert!(
        !out.status.success(),
        "the home's LAN address is routable from the WAN"
    );
    let out = in_ns(&home.home_ns, &format!("ping -c1 -W2 {WAN_HOST}"));
    assert!(out.status.success(), "the home cannot reach the WAN");

    let out = in_ns(
        &home.home_ns,
        &format!("upnpc -a {} 40001 40001 TCP", home.lan_ip),
    );
    assert!(out.status.success(), "upnpc -a failed: {out:?}");
    assert!(lab.mappings(0).contains("40001"), "{}", lab.mappings(0));
    assert!(lab.upnp_list(0).contains("40001->"), "{}", lab.upnp_list(0));
    let after = in_ns(&lab.wan_ns, &dial);
    assert_eq!(
        String::from_utf8_lossy(&after.stdout).trim(),
        "hello from home",
        "{after:?}"
    );
    drop(listener);
}
