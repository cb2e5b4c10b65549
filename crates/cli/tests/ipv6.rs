//! IPv6: shoal's default listener (`[::]`) takes peers of both families on one port, over
//! TCP and uTP, and shoal downloads from a libtorrent that listens on `::1` alone. Each
//! download is compared byte for byte; shoal's log must name the IPv6 peer.

mod common;

use common::libtorrent::{self, SeedOptions};
use common::payload::{self, Maker, Payload, MIB};
use common::tools::{require, Tool};
use common::{shoal, TestDir, TRANSFER_TIMEOUT};
use std::time::Duration;

fn single_file(t: &TestDir) -> Payload {
    payload::single_file(t, "src", "v6.bin", 2 * MIB + 4_321, 61)
}

/// The listen port from `share`'s magnet hints (the hint on 127.0.0.1 carries it).
fn hinted_port(magnet: &str) -> u16 {
    common::magnet::peer_hints(magnet)
        .iter()
        .find_map(|hint| hint.strip_prefix("127.0.0.1:")?.parse().ok())
        .unwrap_or_else(|| panic!("no 127.0.0.1 hint in {magnet}"))
}

#[test]
fn the_default_listener_serves_libtorrent_over_ipv6_and_ipv4_on_one_port() {
    if !require(&[Tool::Libtorrent]) {
        return;
    }
    let t = TestDir::new("ipv6-dual-stack");
    let payload = single_file(&t);
    let torrent = t.join("shared.torrent");
    // No --listen: the default, `[::]:0`.
    let mut share = shoal::spawn(
        &t,
        "shoal-share",
        args![
            "share",
            payload.content(),
            "--torrent-out",
            &torrent,
            "--no-dht",
            "--no-lsd"
        ],
    );
    let magnet = share.first_line(Duration::from_secs(60), "magnet link");
    let port = hinted_port(&magnet);
    assert!(
        common::magnet::peer_hints(&magnet).contains(&format!("[::1]:{port}")),
        "the magnet has no [::1] hint: {magnet}"
    );

    for (label, host, transport) in [
        ("v6-tcp", "::1", "tcp"),
        ("v6-utp", "::1", "utp"),
        ("v4-tcp", "127.0.0.1", "tcp"),
    ] {
        let out = t.subdir(&format!("out-{label}"));
        let peer = if host.contains(':') {
            format!("[{host}]:{port}")
        } else {
            format!("{host}:{port}")
        };
        let args = args![
            "get",
            "--host",
            host,
            "--transport",
            transport,
            "--save",
            &out,
            "--timeout",
            "300",
            "--torrent",
            &torrent,
            "--peer",
            &peer
        ];
        libtorrent::lt_client(&t, &format!("libtorrent-get-{label}"), args)
            .wait_success(TRANSFER_TIMEOUT);
        payload.assert_downloaded(&out);
    }
    share.kill();
    let log = share.stderr();
    for (what, needle) in [
        ("an IPv6 peer over TCP", "addr=[::1]:"),
        ("a peer over uTP", "transport=Utp"),
        ("an IPv4 peer", "addr=127.0.0.1:"),
    ] {
        assert!(
            log.contains(needle),
            "shoal's log shows no {what}\n{}",
            share.log_tails()
        );
    }
}

#[test]
fn shoal_downloads_from_libtorrent_listening_on_ipv6_only() {
    if !require(&[Tool::Libtorrent]) {
        return;
    }
    let t = TestDir::new("ipv6-only-seed");
    let payload = single_file(&t);
    let torrent = payload::make_torrent(&t, Maker::Shoal, &payload, "payload.torrent");
    let options = SeedOptions {
        host: Some("::1"),
        transport: Some("both"),
        ..SeedOptions::default()
    };
    let seed = libtorrent::seed(&t, &torrent, &payload.data_dir, options);
    let out = t.subdir("out");
    let peer = format!("[::1]:{}", seed.port);
    let got = shoal::spawn(
        &t,
        "shoal-get",
        args!["get", &torrent, "-o", &out, "--peer", &peer],
    )
    .wait_success(TRANSFER_TIMEOUT);
    payload.assert_downloaded(&out);
    assert!(
        got.stderr.contains(&format!("addr={peer}")),
        "shoal's log does not name the IPv6 peer\n{}",
        got.describe()
    );
}
