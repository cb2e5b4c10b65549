//! Knowing our own address behind a NAT: peers on the WAN tell a shoal in a home the
//! address they see it at (BEP 10 `yourip`), and once two of them agree shoal takes the
//! router's public address as its own, which peers on the home's LAN side never could.

mod common;

use common::nat::{Gateway, NatLab};
use common::payload::{self, Maker, MIB};
use common::tools::{interop_script, require, Tool, DEBIAN_PYTHON};
use common::{TestDir, TRANSFER_TIMEOUT};
use std::time::Duration;

#[test]
fn two_wan_peers_agree_on_the_address_a_home_is_seen_at() {
    if !require(&[Tool::Libtorrent, Tool::Router]) {
        return;
    }
    let t = TestDir::new("nat-votes");
    let Some(lab) = NatLab::create(&t, "votes", &[Gateway::NONE]) else {
        return;
    };
    lab.add_wan_address("80.100.100.3");
    let payload = payload::single_file(&t, "src", "votes.bin", MIB + 99, 71);
    let torrent = payload::make_torrent(&t, Maker::Shoal, &payload, "payload.torrent");
    let mut seeds = Vec::new();
    for host in ["80.100.100.2", "80.100.100.3"] {
        let mut seed = lab.spawn(
            &lab.wan_ns,
            &t,
            &format!("libtorrent-seed-{host}"),
            DEBIAN_PYTHON,
            args![
                interop_script("lt_client.py"),
                "seed",
                "--host",
                host,
                "--listen",
                "6881",
                "--torrent",
                &torrent,
                "--data",
                &payload.data_dir,
                "--timeout",
                "300"
            ],
        );
        seed.wait_for_line(Duration::from_secs(60), "`seeding`", |l| l == "seeding");
        seeds.push(seed);
    }
    let home = &lab.homes[0];
    let out = t.subdir("out");
    let got = lab
        .spawn_shoal(
            &home.home_ns,
            &t,
            "shoal-get",
            args![
                "get",
                &torrent,
                "-o",
                &out,
                "--peer",
                "80.100.100.2:6881",
                "--peer",
                "80.100.100.3:6881",
                "--no-dht",
                "--no-lsd"
            ],
        )
        .wait_success(TRANSFER_TIMEOUT);
    payload.assert_downloaded(&out);
    let expected = format!("external address ip={} reporters=2", home.public_ip);
    assert!(
        got.stderr.contains(&expected),
        "no `{expected}` in shoal's log\n{}",
        got.describe()
    );
    drop(seeds);
}
