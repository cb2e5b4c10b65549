//! End-to-end tests of the `shoal` binary against itself: share and get by
//! magnet, create/seed/get a folder by .torrent, resume after `kill -9`, and
//! `shoal info` / `shoal create` checked against libtorrent and mktorrent.

mod common;

use common::libtorrent::{self, SeedOptions, Source};
use common::payload::{self, Maker, KIB, MIB};
use common::tools::{require, Tool};
use common::{shoal, TestDir, TRANSFER_TIMEOUT};

#[test]
fn share_then_get_by_magnet_finds_the_sharer_through_its_peer_hint() {
    let t = TestDir::new("e2e-magnet");
    let payload = payload::single_file(&t, "src", "hello.bin", 3 * MIB + 123, 1);
    let share = shoal::share(&t, &payload.content(), args![]);
    assert!(
        share.magnet.contains("x.pe="),
        "the magnet of `shoal share` carries no x.pe peer hint: {}",
        share.magnet
    );

    // No --peer: the magnet alone must lead to the sharer, and the metadata
    // comes from it (BEP 9).
    let out = t.subdir("out");
    shoal::get(&t, &share.magnet, &out, args![]);
    payload.assert_downloaded(&out);
}

#[test]
fn folder_with_odd_sizes_goes_from_create_and_seed_to_get_by_torrent() {
    let t = TestDir::new("e2e-folder");
    let payload = payload::folder(&t, "src", "album", 2);
    // An empty file is part of a folder a user shares too.
    common::write_seeded_file(&payload.content().join("empty.txt"), 0, 0);
    let torrent = t.join("album.torrent");
    // 32 KiB pieces: files start and end inside pieces and blocks.
    shoal::create(
        &t,
        &payload.content(),
        &torrent,
        &["--piece-length", "32768"],
    );

    let seed = shoal::seed(&t, &torrent, &payload.data_dir, &[]);
    let out = t.subdir("out");
    shoal::get(&t, &torrent, &out, shoal::peer_args(&[seed.addr()]));
    payload.assert_downloaded(&out);
}

#[test]
fn get_resumes_after_kill_9_and_completes() {
    if !require(&[Tool::Libtorrent]) {
        return;
    }
    let t = TestDir::new("e2e-resume");
    const PIECE: usize = 64 * KIB;
    let payload = payload::single_file(&t, "src", "big.bin", 6 * MIB + 77, 3);
    let torrent = t.join("big.torrent");
    shoal::create(
        &t,
        &payload.content(),
        &torrent,
        &["--piece-length", "65536"],
    );
    // A slow seed (libtorrent can cap uploads on loopback), so the download can
    // be caught midway.
    let options = SeedOptions {
        upload_limit: 768 * KIB as u64,
        ..SeedOptions::default()
    };
    let seed = libtorrent::seed(&t, &torrent, &payload.data_dir, options);

    let out = t.subdir("out");
    let expected = std::fs::read(payload.content()).unwrap();
    let downloaded = payload.downloaded(&out);
    let peers = shoal::peer_args(&[seed.addr()]);
    let mut first = shoal::spawn_get(&t, &torrent, &out, peers.clone());
    let midway = common::wait_until(TRANSFER_TIMEOUT, || {
        let (good, total) = common::data::matching_chunks(&expected, &downloaded, PIECE);
        good >= 4 || first.try_exit().is_some() || good == total
    });
    first.kill();
    let (good, total) = common::data::matching_chunks(&expected, &downloaded, PIECE);
    assert!(
        midway && good > 0 && good < total,
        "wanted to interrupt the download midway, but {good} of {total} pieces were on disk\n{}",
        first.log_tails()
    );

    shoal::get(&t, &torrent, &out, peers);
    payload.assert_downloaded(&out);
}

#[test]
fn info_reports_the_info_hash_libtorrent_computes_for_shoal_and_mktorrent_torrents() {
    if !require(&[Tool::Libtorrent, Tool::Mktorrent]) {
        return;
    }
    let t = TestDir::new("e2e-info");
    for (maker, payload, file) in [
        (
            Maker::Shoal,
            payload::folder(&t, "src-a", "tree", 4),
            "shoal.torrent",
        ),
        (
            Maker::Mktorrent,
            payload::folder(&t, "src-b", "tree", 5),
            "mktorrent.torrent",
        ),
        (
            Maker::Shoal,
            payload::single_file(&t, "src-c", "one.bin", 333_333, 6),
            "one.torrent",
        ),
    ] {
        let torrent = payload::make_torrent(&t, maker, &payload, file);
        let expected = libtorrent::info_hash(&t, Source::Torrent(&torrent));

        let leaves = shoal::info_json_leaves(&t, &torrent);
        assert_eq!(
            shoal::info_hash_from_json(&leaves),
            expected,
            "info-hash of {maker:?}'s {file}"
        );
        let text = shoal::run_ok(
            &t,
            "shoal-info-text",
            args!["info", &torrent],
            TRANSFER_TIMEOUT,
        );
        assert!(
            text.stdout.to_ascii_lowercase().contains(&expected),
            "`shoal info {file}` does not show the info-hash {expected}:\n{}",
            text.stdout
        );
    }
}

#[test]
fn info_reads_magnets_and_bare_info_hashes() {
    if !require(&[Tool::Libtorrent]) {
        return;
    }
    let t = TestDir::new("e2e-info-magnet");
    let hash = "c12fe1c06bba254a9dc9f519b335aa7c1367a88a";
    let magnet = format!("magnet:?xt=urn:btih:{hash}&dn=some%20name&x.pe=127.0.0.1:6881");
    assert_eq!(libtorrent::info_hash(&t, Source::Magnet(&magnet)), hash);

    let leaves = shoal::info_json_leaves(&t, &magnet);
    assert_eq!(shoal::info_hash_from_json(&leaves), hash);
    let leaves = shoal::info_json_leaves(&t, hash);
    assert_eq!(shoal::info_hash_from_json(&leaves), hash);
}

#[test]
fn create_writes_a_torrent_libtorrent_reads_with_the_same_files() {
    if !require(&[Tool::Libtorrent]) {
        return;
    }
    let t = TestDir::new("e2e-create");
    let payload = payload::folder(&t, "src", "pack", 7);
    let torrent = payload::make_torrent(&t, Maker::Shoal, &payload, "pack.torrent");

    let leaves = libtorrent::info(&t, Source::Torrent(&torrent));
    let value = |key: &str| {
        leaves
            .iter()
            .find(|(path, _)| path == key)
            .map(|(_, v)| v.clone())
            .unwrap_or_else(|| panic!("no {key} in libtorrent's view: {leaves:?}"))
    };
    assert_eq!(value("name"), "\"pack\"");
    let total: usize = payload::FOLDER_FILES.iter().map(|(_, len)| len).sum();
    assert_eq!(value("total_size"), total.to_string());

    let mut files: Vec<(String, String)> = leaves
        .iter()
        .filter(|(path, _)| path.starts_with("files.") && path.ends_with(".path"))
        .map(|(path, name)| {
            let size_key = path.replace(".path", ".size");
            (name.clone(), value(&size_key))
        })
        .collect();
    files.sort();
    let mut expected: Vec<(String, String)> = payload::FOLDER_FILES
        .iter()
        .map(|(path, len)| (format!("\"pack/{path}\""), len.to_string()))
        .collect();
    expected.sort();
    assert_eq!(files, expected, "files libtorrent sees in shoal's torrent");
}
