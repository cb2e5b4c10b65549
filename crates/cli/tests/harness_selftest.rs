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
