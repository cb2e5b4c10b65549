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

/// A network namespace of its own, with a hosts file (`ip netns exec` mounts
/// `/etc/netns/NAME/hosts` over `/etc/hosts`) naming `tracker.test` at both 127.0.0.1 and
/// ::1. Both files and the namespace are removed on drop.
struct HostsNetns {
    name: String,
    etc: std::path::PathBuf,
}

impl HostsNetns {
    fn create(tag: &str) -> Option<HostsNetns> {
        use std::process::Command;
        let name = format!("shoal-{tag}-{}", std::process::id());
        let etc = std::path::PathBuf::from("/etc/netns").join(&name);
        let made = Command::new("ip").args(["netns", "add", &name]).output();
        if !made.as_ref().is_ok_and(|o| o.status.success()) {
            let message = format!("cannot create network namespace {name}: needs root");
            if common::tools::in_ci() {
                panic!("{message}");
            }
            eprintln!("!!!!!!!! SKIPPED: {message} !!!!!!!!");
            return None;
        }
        let netns = HostsNetns { name, etc };
        let up = Command::new("ip")
            .args(["-n", &netns.name, "link", "set", "lo", "up"])
            .output()
            .expect("run ip");
        assert!(up.status.success(), "{up:?}");
        std::fs::create_dir_all(&netns.etc).expect("create /etc/netns/NAME");
        std::fs::write(
            netns.etc.join("hosts"),
            "127.0.0.1 localhost tracker.test\n::1 localhost tracker.test\n",
        )
        .expect("write the namespace's hosts file");
        Some(netns)
    }

    fn spawn(
        &self,
        t: &TestDir,
        label: &str,
        program: &str,
        args: Vec<std::ffi::OsString>,
    ) -> common::Proc {
        let mut command = std::process::Command::new("ip");
        command
            .args(["netns", "exec", &self.name])
            .arg(program)
            .args(args);
        common::Proc::spawn_command(t, label, command)
    }
}

impl Drop for HostsNetns {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.etc);
        let _ = std::process::Command::new("ip")
            .args(["netns", "del", &self.name])
            .output();
    }
}

/// BEP 7: a dual-stack shoal announces to a tracker whose name has an IPv4 and an IPv6
/// address over both families, so the tracker can hand it to IPv6-only peers; libtorrent
/// on ::1 alone finds it there and downloads. Then shoal finds a libtorrent on ::1 alone
/// through the tracker's `peers6` and downloads from it.
#[test]
fn trackers_hear_from_shoal_over_both_families_and_hand_out_ipv6_peers() {
    if !require(&[Tool::Libtorrent]) {
        return;
    }
    let t = TestDir::new("ipv6-bep7");
    let Some(ns) = HostsNetns::create("bep7") else {
        return;
    };
    let mut tracker = ns.spawn(
        &t,
        "tracker",
        common::tools::DEBIAN_PYTHON,
        args![
            common::tools::interop_script("dual_tracker.py"),
            "--port",
            "6970"
        ],
    );
    tracker.first_line(Duration::from_secs(30), "the tracker's `listening` line");
    let announce = "http://tracker.test:6970/announce";

    // shoal shares; libtorrent (IPv6 only) finds it through the tracker.
    let payload = single_file(&t);
    let torrent = t.join("shared.torrent");
    let mut share = common::shoal::spawn_in_netns(
        &ns.name,
        &t,
        "shoal-share",
        args![
            "share",
            payload.content(),
            "--torrent-out",
            &torrent,
            "--tracker",
            announce,
            "--no-dht",
            "--no-lsd"
        ],
    );
    share.first_line(Duration::from_secs(60), "magnet link");
    tracker.wait_for_output(
        Duration::from_secs(30),
        "shoal's announces over IPv4 and IPv6",
        |out| out.contains("announce v4 127.0.0.1 ") && out.contains("announce v6 ::1 "),
    );
    let out = t.subdir("out-lt");
    ns.spawn(
        &t,
        "libtorrent-get",
        common::tools::DEBIAN_PYTHON,
        args![
            common::tools::interop_script("lt_client.py"),
            "get",
            "--host",
            "::1",
            "--transport",
            "both",
            "--save",
            &out,
            "--timeout",
            "300",
            "--torrent",
            &torrent
        ],
    )
    .wait_success(TRANSFER_TIMEOUT);
    payload.assert_downloaded(&out);
    share.kill();
    assert!(
        share.stderr().contains("addr=[::1]:"),
        "shoal served no IPv6 peer\n{}",
        share.log_tails()
    );

    // libtorrent (IPv6 only) seeds; shoal finds it in the tracker's peers6.
    let mut seed = ns.spawn(
        &t,
        "libtorrent-seed",
        common::tools::DEBIAN_PYTHON,
        args![
            common::tools::interop_script("lt_client.py"),
            "seed",
            "--host",
            "::1",
            "--transport",
            "both",
            "--torrent",
            &torrent,
            "--data",
            &payload.data_dir,
            "--timeout",
            "300"
        ],
    );
    seed.wait_for_line(Duration::from_secs(60), "`seeding`", |line| {
        line == "seeding"
    });
    tracker.wait_for_output(
        Duration::from_secs(60),
        "libtorrent's seed announce",
        |out| {
            out.lines()
                .filter(|l| l.starts_with("announce v6 ::1 "))
                .count()
                >= 3
        },
    );
    let out = t.subdir("out-shoal");
    let got = common::shoal::spawn_in_netns(
        &ns.name,
        &t,
        "shoal-get",
        args!["get", &torrent, "-o", &out, "--no-dht", "--no-lsd"],
    )
    .wait_success(TRANSFER_TIMEOUT);
    payload.assert_downloaded(&out);
    assert!(
        got.stderr.contains("addr=[::1]:"),
        "shoal did not download from the IPv6 peer\n{}",
        got.describe()
    );
    seed.kill();
    tracker.kill();
}
