//! uTP (BEP 29): shoal with its defaults trades with libtorrent speaking uTP only (TCP
//! off), plaintext and with RC4 forced, in both directions on loopback, and two shoals speaking uTP only move a payload
//! whole across a link that loses, reorders and delays packets. Every download is compared
//! byte for byte, and each side's log must show the connection ran over uTP.

mod common;

use common::libtorrent::{self, SeedOptions, Source};
use common::linkem::{Impairment, LossyLink};
use common::payload::{self, Maker, Payload, MIB};
use common::tools::{require, Tool};
use common::{shoal, TestDir, TRANSFER_TIMEOUT};
use std::time::Duration;

/// What shoal's debug log says of a peer connected over uTP.
const UTP_CONNECTED: &str = "transport=Utp";

fn single_file(t: &TestDir) -> Payload {
    payload::single_file(t, "src", "single.bin", 3 * MIB + 777, 41)
}

#[test]
fn libtorrent_over_utp_only_seeds_to_shoal_with_its_defaults() {
    if !require(&[Tool::Libtorrent]) {
        return;
    }
    let t = TestDir::new("lt-utp-seed");
    let payload = single_file(&t);
    let torrent = payload::make_torrent(&t, Maker::Shoal, &payload, "payload.torrent");
    let options = SeedOptions {
        transport: Some("utp"),
        ..SeedOptions::default()
    };
    let seed = libtorrent::seed(&t, &torrent, &payload.data_dir, options);

    let out = t.subdir("out");
    let got = shoal::get(&t, &torrent, &out, shoal::peer_args(&[seed.addr()]));
    payload.assert_downloaded(&out);
    assert!(
        got.stderr.contains(UTP_CONNECTED),
        "shoal's log shows no uTP connection\n{}",
        got.describe()
    );
}

#[test]
fn shoal_share_with_its_defaults_serves_libtorrent_over_utp_only() {
    if !require(&[Tool::Libtorrent]) {
        return;
    }
    let t = TestDir::new("shoal-share-lt-utp");
    let payload = single_file(&t);
    let torrent = t.join("shared.torrent");
    let mut share = shoal::share(&t, &payload.content(), args!["--torrent-out", &torrent]);

    let out = t.subdir("out");
    libtorrent::get_with(
        &t,
        Source::Torrent(&torrent),
        &out,
        &[share.addr()],
        "disabled",
        "utp",
    )
    .wait_success(TRANSFER_TIMEOUT);
    payload.assert_downloaded(&out);
    share.proc.kill();
    assert!(
        share.proc.stderr().contains(UTP_CONNECTED),
        "shoal's log shows no uTP connection\n{}",
        share.proc.log_tails()
    );
}

#[test]
fn shoal_to_shoal_over_utp_survives_loss_reordering_and_delay() {
    // 1% of packets lost and 0.5% sent ahead of their turn, each way, and 20 ms each way
    // (a 40 ms round trip), as `tc netem loss 1% reorder 0.5% delay 20ms` would on both
    // ends of a veth pair.
    let impairment = Impairment {
        delay_ms: 20,
        loss_percent: 1.0,
        reorder_percent: 0.5,
    };
    let t = TestDir::new("utp-lossy");
    let Some(mut link) = LossyLink::create(&t, "utp", &impairment) else {
        return;
    };
    let payload = payload::single_file(&t, "src", "lossy.bin", 2 * MIB + 12_345, 42);
    let torrent = payload::make_torrent(&t, Maker::Shoal, &payload, "payload.torrent");
    let seed_addr = format!("{}:7001", link.addrs[0]);
    let quiet = args!["--no-dht", "--no-lsd", "--transport", "utp"];

    let mut seed_args = args![
        "seed",
        &torrent,
        "--data",
        &payload.data_dir,
        "--listen",
        &seed_addr
    ];
    seed_args.extend(quiet.clone());
    let mut seed = link.spawn_shoal(0, &t, "shoal-seed", seed_args);
    // The session's debug log names its address once the socket is bound.
    seed.wait_for_output(Duration::from_secs(60), "`listening` in the log", |log| {
        log.contains("listening")
    });

    let out = t.subdir("out");
    let listen = format!("{}:0", link.addrs[1]);
    let mut get_args =
        args!["get", &torrent, "-o", &out, "--listen", &listen, "--peer", &seed_addr];
    get_args.extend(quiet);
    let got = link
        .spawn_shoal(1, &t, "shoal-get", get_args)
        .wait_success(TRANSFER_TIMEOUT);
    seed.kill();
    let carried = link.stop();
    payload.assert_downloaded(&out);
    assert!(
        got.stderr.contains(UTP_CONNECTED),
        "no uTP connection in the log\n{}",
        got.describe()
    );
    // The link did what it says: packets were lost and reordered on the way.
    let count = |what: &str| -> u64 {
        let words: Vec<&str> = carried.split_whitespace().collect();
        words
            .windows(2)
            .find(|w| w[0] == what)
            .and_then(|w| w[1].parse().ok())
            .unwrap_or(0)
    };
    assert!(
        count("lost") > 0 && count("reordered") > 0,
        "link: {carried}"
    );
}

#[test]
fn libtorrent_over_utp_forcing_rc4_seeds_to_shoal() {
    if !require(&[Tool::Libtorrent]) {
        return;
    }
    let t = TestDir::new("lt-utp-rc4-seed");
    let payload = single_file(&t);
    let torrent = payload::make_torrent(&t, Maker::Shoal, &payload, "payload.torrent");
    let options = SeedOptions {
        transport: Some("utp"),
        encryption: Some("forced-rc4"),
        ..SeedOptions::default()
    };
    let seed = libtorrent::seed(&t, &torrent, &payload.data_dir, options);

    let out = t.subdir("out");
    let got = shoal::get(&t, &torrent, &out, shoal::peer_args(&[seed.addr()]));
    payload.assert_downloaded(&out);
    let log = &got.stderr;
    assert!(
        log.lines()
            .any(|l| l.contains(UTP_CONNECTED) && l.contains("encrypted=true")),
        "shoal's log shows no encrypted uTP connection\n{}",
        got.describe()
    );
}

#[test]
fn libtorrent_over_utp_forcing_rc4_downloads_from_shoal() {
    if !require(&[Tool::Libtorrent]) {
        return;
    }
    let t = TestDir::new("shoal-share-lt-utp-rc4");
    let payload = single_file(&t);
    let torrent = t.join("shared.torrent");
    let mut share = shoal::share(&t, &payload.content(), args!["--torrent-out", &torrent]);

    let out = t.subdir("out");
    let source = Source::Torrent(&torrent);
    libtorrent::get_with(&t, source, &out, &[share.addr()], "forced-rc4", "utp")
        .wait_success(TRANSFER_TIMEOUT);
    payload.assert_downloaded(&out);
    share.proc.kill();
    let log = share.proc.stderr();
    assert!(
        log.lines()
            .any(|l| l.contains(UTP_CONNECTED) && l.contains("encrypted=true")),
        "shoal's log shows no encrypted uTP connection\n{}",
        share.proc.log_tails()
    );
}
