//! shoal and aria2 1.36 trade data on loopback. aria2 seeds torrents made by
//! shoal and by mktorrent to `shoal get`, which dials aria2's listen port (aria2
//! cannot be handed a peer). aria2 downloading from shoal finds shoal through
//! opentracker, which `shoal seed` announces to. Every download is compared byte for byte.

mod common;

use common::libtorrent::{self, Source};
use common::payload::{self, Maker, Payload, MIB};
use common::tools::{require, Tool};
use common::{aria2, opentracker, shoal, TestDir, TRANSFER_TIMEOUT};

fn folder(t: &TestDir) -> Payload {
    payload::folder(t, "src", "folder", 41)
}

fn single_file(t: &TestDir) -> Payload {
    payload::single_file(t, "src", "single.bin", 3 * MIB + 17, 42)
}

/// aria2 seeds `payload` from a torrent made by `maker`; `shoal get` dials it.
fn aria2_seeds_to_shoal(test: &str, maker: Maker, make_payload: fn(&TestDir) -> Payload) {
    if !require(&[Tool::Aria2, Tool::Mktorrent]) {
        return;
    }
    let t = TestDir::new(test);
    let payload = make_payload(&t);
    let torrent = payload::make_torrent(&t, maker, &payload, "payload.torrent");
    let seed = aria2::seed(&t, &torrent, &payload.data_dir);

    let out = t.subdir("out");
    shoal::get(&t, &torrent, &out, shoal::peer_args(&[seed.addr()]));
    payload.assert_downloaded(&out);
}

#[test]
fn aria2_seeds_a_shoal_made_folder_torrent_to_shoal_get() {
    aria2_seeds_to_shoal("aria2-seed-shoal-folder", Maker::Shoal, folder);
}

#[test]
fn aria2_seeds_a_shoal_made_single_file_torrent_to_shoal_get() {
    aria2_seeds_to_shoal("aria2-seed-shoal-file", Maker::Shoal, single_file);
}

#[test]
fn aria2_seeds_a_mktorrent_folder_torrent_to_shoal_get() {
    aria2_seeds_to_shoal("aria2-seed-mk-folder", Maker::Mktorrent, folder);
}

#[test]
fn aria2_downloads_from_shoal_found_through_a_tracker() {
    if !require(&[Tool::Aria2, Tool::Opentracker, Tool::Libtorrent]) {
        return;
    }
    let t = TestDir::new("aria2-get-shoal");
    let payload = folder(&t);
    // opentracker serves only whitelisted hashes: pick the tracker's port, make
    // the torrent announcing to it, whitelist its hash, then start the tracker.
    let port = common::free_port();
    let announce = format!("http://127.0.0.1:{port}/announce");
    let torrent = t.join("payload.torrent");
    shoal::create(&t, &payload.content(), &torrent, &["--tracker", &announce]);
    let hash = libtorrent::info_hash(&t, Source::Torrent(&torrent));
    let tracker = opentracker::start(&t, port, &[hash]);
    assert_eq!(tracker.announce_url(), announce);

    let _seed = shoal::seed(&t, &torrent, &payload.data_dir, &[]);
    let out = t.subdir("out");
    aria2::get(&t, &torrent, &out).wait_success(TRANSFER_TIMEOUT);
    payload.assert_downloaded(&out);
}
