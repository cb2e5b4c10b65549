//! shoal and libtorrent (python3-libtorrent 2.0) trade data on loopback in both
//! directions: libtorrent seeds torrents made by shoal and by mktorrent to
//! `shoal get`; `shoal share` and `shoal seed` serve libtorrent, which also
//! fetches the metadata of a shoal magnet (BEP 9), and shoal fetches it from
//! libtorrent. Every download is compared byte for byte.

mod common;

use common::libtorrent::{self, SeedOptions, Source};
use common::payload::{self, Maker, Payload, MIB};
use common::tools::{require, Tool};
use common::{shoal, TestDir, TRANSFER_TIMEOUT};

/// libtorrent seeds `payload` from a torrent made by `maker`; `shoal get` dials it.
fn libtorrent_seeds_to_shoal(test: &str, maker: Maker, make_payload: fn(&TestDir) -> Payload) {
    if !require(&[Tool::Libtorrent, Tool::Mktorrent]) {
        return;
    }
    let t = TestDir::new(test);
    let payload = make_payload(&t);
    let torrent = payload::make_torrent(&t, maker, &payload, "payload.torrent");
    let seed = libtorrent::seed(&t, &torrent, &payload.data_dir, SeedOptions::default());

    let out = t.subdir("out");
    shoal::get(&t, &torrent, &out, shoal::peer_args(&[seed.addr()]));
    payload.assert_downloaded(&out);
}

fn single_file(t: &TestDir) -> Payload {
    payload::single_file(t, "src", "single.bin", 2 * MIB + 4321, 21)
}

fn folder(t: &TestDir) -> Payload {
    payload::folder(t, "src", "folder", 22)
}

#[test]
fn libtorrent_seeds_a_shoal_made_single_file_torrent_to_shoal_get() {
    libtorrent_seeds_to_shoal("lt-seed-shoal-file", Maker::Shoal, single_file);
}

#[test]
fn libtorrent_seeds_a_shoal_made_folder_torrent_to_shoal_get() {
    libtorrent_seeds_to_shoal("lt-seed-shoal-folder", Maker::Shoal, folder);
}

#[test]
fn libtorrent_seeds_a_mktorrent_single_file_torrent_to_shoal_get() {
    libtorrent_seeds_to_shoal("lt-seed-mk-file", Maker::Mktorrent, single_file);
}

#[test]
fn libtorrent_seeds_a_mktorrent_folder_torrent_to_shoal_get() {
    libtorrent_seeds_to_shoal("lt-seed-mk-folder", Maker::Mktorrent, folder);
}

#[test]
fn shoal_gets_a_magnet_from_libtorrent_fetching_the_metadata() {
    if !require(&[Tool::Libtorrent, Tool::Mktorrent]) {
        return;
    }
    let t = TestDir::new("lt-seed-magnet");
    let payload = folder(&t);
    let torrent = payload::make_torrent(&t, Maker::Mktorrent, &payload, "payload.torrent");
    let hash = libtorrent::info_hash(&t, Source::Torrent(&torrent));
    let seed = libtorrent::seed(&t, &torrent, &payload.data_dir, SeedOptions::default());

    let out = t.subdir("out");
    let magnet = format!("magnet:?xt=urn:btih:{hash}&dn=folder");
    shoal::get(&t, &magnet, &out, shoal::peer_args(&[seed.addr()]));
    payload.assert_downloaded(&out);
}

#[test]
fn shoal_share_serves_libtorrent_by_torrent_file() {
    if !require(&[Tool::Libtorrent]) {
        return;
    }
    let t = TestDir::new("shoal-share-lt");
    let payload = folder(&t);
    let torrent = t.join("shared.torrent");
    let share = shoal::share(&t, &payload.content(), args!["--torrent-out", &torrent]);

    let out = t.subdir("out");
    libtorrent::get(&t, Source::Torrent(&torrent), &out, &[share.addr()])
        .wait_success(TRANSFER_TIMEOUT);
    payload.assert_downloaded(&out);
}

#[test]
fn libtorrent_fetches_a_shoal_magnet_and_its_metadata() {
    if !require(&[Tool::Libtorrent]) {
        return;
    }
    let t = TestDir::new("shoal-share-lt-magnet");
    let payload = single_file(&t);
    let share = shoal::share(&t, &payload.content(), args![]);

    let out = t.subdir("out");
    libtorrent::get(&t, Source::Magnet(&share.magnet), &out, &[share.addr()])
        .wait_success(TRANSFER_TIMEOUT);
    payload.assert_downloaded(&out);
}

#[test]
fn shoal_seed_serves_a_mktorrent_torrent_to_libtorrent() {
    if !require(&[Tool::Libtorrent, Tool::Mktorrent]) {
        return;
    }
    let t = TestDir::new("shoal-seed-lt");
    let payload = folder(&t);
    let torrent = payload::make_torrent(&t, Maker::Mktorrent, &payload, "payload.torrent");
    let seed = shoal::seed(&t, &torrent, &payload.data_dir, &[]);

    let out = t.subdir("out");
    libtorrent::get(&t, Source::Torrent(&torrent), &out, &[seed.addr()])
        .wait_success(TRANSFER_TIMEOUT);
    payload.assert_downloaded(&out);
}

#[test]
fn shoal_seed_dials_libtorrent_and_uploads() {
    if !require(&[Tool::Libtorrent]) {
        return;
    }
    let t = TestDir::new("shoal-seed-dials-lt");
    let payload = single_file(&t);
    let torrent = payload::make_torrent(&t, Maker::Shoal, &payload, "payload.torrent");

    // libtorrent only listens: shoal's --peer must open the connection.
    let out = t.subdir("out");
    let mut leech = libtorrent::get(&t, Source::Torrent(&torrent), &out, &[]);
    let port = libtorrent::listening_port(&mut leech);
    let _seed = shoal::seed(
        &t,
        &torrent,
        &payload.data_dir,
        &[common::net::loopback(port)],
    );
    leech.wait_success(TRANSFER_TIMEOUT);
    payload.assert_downloaded(&out);
}
