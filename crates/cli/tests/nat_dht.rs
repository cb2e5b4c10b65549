//! Two homes behind two NATs, no port mapping, no third BitTorrent peer: only a private
//! DHT of libtorrent nodes on the WAN side. `shoal share FILE` in home 1 and `shoal get
//! <bare info-hash>` in home 2 find each other in the DHT and connect over uTP by dialing
//! each other at the same time.
//!
//! ```text
//!   A (home 1, share) --NAT--\
//!                             [wan] DHT nodes 80.100.100.2:*
//!   B (home 2, get)   --NAT--/
//! ```
//!
//! Why it works: the DHT node shares the uTP socket, so each side's announce (with
//! `implied_port`) stores the address its router maps that socket to; each side's lookups
//! return the other's; each dials the other over uTP from that socket. The first dial out
//! of each home opens its own router for the other's address, so the other's next dial
//! (or SYN retransmission) gets in. No relay, no mapping: the routers drop everything
//! else from the WAN.

mod common;

use common::discovery::dht_args_from;
use common::nat::{Gateway, NatLab, WAN_HOST};
use common::payload::{self, MIB};
use common::tools::{interop_script, require, Tool, DEBIAN_PYTHON};
use common::{TestDir, TRANSFER_TIMEOUT};
use std::time::{Duration, Instant};

#[test]
fn share_and_get_behind_two_nats_meet_through_the_dht_alone() {
    if !require(&[Tool::Router, Tool::Libtorrent]) {
        return;
    }
    let t = TestDir::new("nat-dht");
    let Some(lab) = NatLab::create(&t, "natdht", &[Gateway::NONE, Gateway::NONE]) else {
        return;
    };
    // The DHT: libtorrent nodes in the WAN namespace (the most common implementation).
    let mut dht = lab.spawn(
        &lab.wan_ns,
        &t,
        "lt-dht-net",
        DEBIAN_PYTHON,
        args![
            interop_script("lt_dht_net.py"),
            "--count",
            "8",
            "--host",
            WAN_HOST,
            "--timeout",
            "600"
        ],
    );
    dht.wait_for_line(Duration::from_secs(60), "`ready`", |l| l == "ready");
    let nodes: Vec<String> = dht
        .stdout()
        .lines()
        .filter_map(|l| l.strip_prefix("node "))
        .map(str::to_string)
        .collect();
    let (home_a, home_b) = (&lab.homes[0], &lab.homes[1]);

    let payload = payload::single_file(&t, "src", "nat-dht.bin", 3 * MIB + 3, 91);
    let mut args = args!["share", payload.content(), "--listen", "0.0.0.0:6881"];
    args.extend(dht_args_from(&t, "a", &nodes[..3]));
    let mut share = lab.spawn_shoal(&home_a.home_ns, &t, "shoal-share", args);
    let magnet = share.first_line(Duration::from_secs(30), "magnet link");
    let hash = common::magnet::info_hash(&magnet).expect("an info-hash in the magnet");

    let out = t.subdir("out");
    let mut args = args!["get", &hash, "-o", &out, "--listen", "0.0.0.0:6881"];
    args.extend(dht_args_from(&t, "b", &nodes[4..7]));
    let started = Instant::now();
    let got = lab
        .spawn_shoal(&home_b.home_ns, &t, "shoal-get", args)
        .wait_success(TRANSFER_TIMEOUT);
    let took = started.elapsed();
    payload.assert_downloaded(&out);
    // The only way in: A's router's public address, over uTP.
    let a_public = format!("addr={}:", home_a.public_ip);
    let connected = got
        .stderr
        .lines()
        .find(|l| l.contains(&a_public) && l.contains("connected peer_id"));
    assert!(
        connected.is_some_and(|l| l.contains("transport=Utp")),
        "the getter never connected to the sharer's public address over uTP\n{}",
        got.describe()
    );
    eprintln!(
        "DHT-only hole punch: shoal get finished in {took:?}; {}",
        got.stderr
            .lines()
            .find_map(|l| l.find("first peer").map(|i| l[i..].to_string()))
            .unwrap_or_default()
    );
    share.kill();
    drop(dht);
}
