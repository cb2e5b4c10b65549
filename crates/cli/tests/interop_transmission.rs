//! shoal and Transmission 3.00 (transmission-daemon) trade data on loopback in both
//! directions. Transmission never dials peers on 127.0.0.0/8, so shoal always
//! opens the connection: `shoal get --peer` to a seeding Transmission, and
//! `shoal seed/share --peer` to a downloading one. Transmission unchokes a new
//! peer only at its next rechoke (about every 10 s), so each transfer takes
//! 10-25 s. Every download is compared byte for byte.

mod common;

use common::libtorrent::{self, Source};
use common::payload::{self, Maker, Payload, MIB};
use common::tools::{require, Tool};
use common::{shoal, transmission, TestDir};

fn folder(t: &TestDir) -> Payload {
    payload::folder(t, "src", "folder", 31)
}

fn single_file(t: &TestDir) -> Payload {
    payload::single_file(t, "src", "single.bin", 2 * MIB + 999, 32)
}

/// Transmission seeds `payload` from a torrent made by `maker`; `shoal get` dials it.
fn transmission_seeds_to_shoal(test: &str, maker: Maker, make_payload: fn(&TestDir) -> Payload) {
    if !require(&[Tool::Transmission, Tool::Mktorrent]) {
        return;
    }
    let t = TestDir::new(test);
    let payload = make_payload(&t);
    let torrent = payload::make_torrent(&t, maker, &payload, "payload.torrent");
    let mut seed = transmission::start(
        &t,
        "transmission-seed",
        &torrent.to_string_lossy(),
        &payload.data_dir,
    );
    seed.wait_seeding();

    let out = t.subdir("out");
    shoal::get(&t, &torrent, &out, shoal::peer_args(&[seed.addr()]));
    payload.assert_downloaded(&out);
}

#[test]
fn transmission_seeds_a_shoal_made_folder_torrent_to_shoal_get() {
    transmission_seeds_to_shoal("tr-seed-shoal-folder", Maker::Shoal, folder);
}

#[test]
fn transmission_seeds_a_mktorrent_single_file_torrent_to_shoal_get() {
    transmission_seeds_to_shoal("tr-seed-mk-file", Maker::Mktorrent, single_file);
}

/// Large enough that the request pipeline must keep up with how Transmission answers:
/// it serves requests in bursts, late, and a pipeline sized from a too-short window of
/// its rate starved and never finished (shoal at db97f5c).
fn large_file(t: &TestDir) -> Payload {
    payload::single_file(t, "src", "large.bin", 64 * MIB + 17, 33)
}

#[test]
fn transmission_seeds_a_64_mib_file_to_shoal_get() {
    transmission_seeds_to_shoal("tr-seed-large", Maker::Shoal, large_file);
}

#[test]
fn shoal_seed_dials_transmission_which_downloads_the_torrent() {
    if !require(&[Tool::Transmission]) {
        return;
    }
    let t = TestDir::new("shoal-seed-tr");
    let payload = folder(&t);
    let torrent = payload::make_torrent(&t, Maker::Shoal, &payload, "payload.torrent");
    let out = t.subdir("out");
    let mut leech = transmission::start(&t, "transmission-get", &torrent.to_string_lossy(), &out);
    leech.wait_running();

    let _seed = shoal::seed(&t, &torrent, &payload.data_dir, &[leech.addr()]);
    leech.wait_download(&payload.content(), &payload.downloaded(&out));
}

#[test]
fn shoal_share_dials_transmission_which_fetches_the_magnet_metadata() {
    if !require(&[Tool::Transmission, Tool::Libtorrent]) {
        return;
    }
    let t = TestDir::new("shoal-share-tr-magnet");
    let payload = single_file(&t);
    // Transmission must hold the torrent before shoal dials it, so learn the
    // info-hash first: `shoal share` hashes the same way as `shoal create`.
    let torrent = payload::make_torrent(&t, Maker::Shoal, &payload, "payload.torrent");
    let hash = libtorrent::info_hash(&t, Source::Torrent(&torrent));
    let magnet = format!("magnet:?xt=urn:btih:{hash}");
    let out = t.subdir("out");
    let mut leech = transmission::start(&t, "transmission-get", &magnet, &out);
    leech.wait_running();

    let share = shoal::share(&t, &payload.content(), shoal::peer_args(&[leech.addr()]));
    assert_eq!(
        common::magnet::info_hash(&share.magnet).as_deref(),
        Some(hash.as_str()),
        "`shoal share` and `shoal create` disagree on the info-hash"
    );
    leech.wait_download(&payload.content(), &payload.downloaded(&out));
}
