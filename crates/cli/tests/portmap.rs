//! Port mapping against a real home router: `shoal share` in a NatLab home (routers doing
//! nftables masquerade, miniupnpd as the UPnP-IGD / NAT-PMP / PCP gateway, see
//! `common/nat.rs`) maps its TCP and UDP port by one protocol at a time, says so with the
//! router's public address, and a `shoal get` in the WAN namespace downloads through the
//! mapping by the printed magnet alone. After Ctrl-C the mapping is gone from the router.
//!
//! A second router runs no miniupnpd but tests/interop/hostile_gateway.py, which answers
//! every request with garbage; shoal must keep running and say, in bounded time, that it
//! has no port mapping.
//!
//! Everything runs inside the lab's namespaces; each test prints how long mapping took.

mod common;

use common::nat::{Gateway, NatLab};
use common::payload::{self, MIB};
use common::tools::{interop_script, require, Tool, DEBIAN_PYTHON};
use common::{TestDir, TRANSFER_TIMEOUT};
use std::time::{Duration, Instant};

/// How long `share` may take to print its reachability line (hashing included).
const REACHABLE_WITHIN: Duration = Duration::from_secs(20);

#[test]
fn share_maps_its_ports_by_upnp_and_a_wan_peer_downloads_through_them() {
    let gateway = Gateway {
        upnp: true,
        natpmp: false,
    };
    share_through_mapping("pmupnp", gateway, "upnp", Some("UPnP"));
}

#[test]
fn share_maps_its_ports_by_natpmp_and_a_wan_peer_downloads_through_them() {
    let gateway = Gateway {
        upnp: false,
        natpmp: true,
    };
    share_through_mapping("pmnatpmp", gateway, "natpmp", Some("NAT-PMP"));
}

#[test]
fn share_maps_its_ports_by_pcp_and_a_wan_peer_downloads_through_them() {
    let gateway = Gateway {
        upnp: false,
        natpmp: true,
    };
    share_through_mapping("pmpcp", gateway, "pcp", Some("PCP"));
}

/// All three protocols at once against a router serving all three: whichever maps first
/// wins, and the others' identical mappings (the same rule on this router) are not deleted
/// from under it.
#[test]
fn share_maps_its_ports_with_every_protocol_racing() {
    let gateway = Gateway {
        upnp: true,
        natpmp: true,
    };
    share_through_mapping("pmall", gateway, "upnp,natpmp,pcp", None);
}

/// `share` in the lab's home with `--port-mapping protocol`; `shown` is the protocol the
/// reachability line must name (`None`: any).
fn share_through_mapping(tag: &str, gateway: Gateway, protocol: &str, shown: Option<&str>) {
    if !require(&[Tool::Router]) {
        return;
    }
    let t = TestDir::new(tag);
    let Some(lab) = NatLab::create(&t, tag, &[gateway]) else {
        return;
    };
    let home = &lab.homes[0];
    let payload = payload::single_file(&t, "src", "mapped.bin", MIB + 4321, 17);
    let port = 40001;
    let args = args![
        "share",
        payload.content(),
        "--listen",
        format!("0.0.0.0:{port}"),
        "--no-dht",
        "--no-lsd",
        "--port-mapping",
        protocol
    ];
    let started = Instant::now();
    let mut share = lab.spawn_shoal(&home.home_ns, &t, "shoal-share", args);
    let magnet = share.first_line(REACHABLE_WITHIN, "magnet link");
    let public = format!("{}:{port}", home.public_ip);
    let wanted = format!("reachable at {public} through {}", shown.unwrap_or(""));
    share.wait_for_output(REACHABLE_WITHIN, "the reachability line", |log| {
        log.contains(&wanted)
    });
    let to_line = started.elapsed();
    let log = share.stderr();
    eprintln!(
        "{protocol}: `reachable at` line {to_line:?} after start; {}",
        logged_line(&log, "port mapped").unwrap_or("no `port mapped` log line")
    );
    let hints = common::magnet::peer_hints(&magnet);
    assert_eq!(
        hints.first(),
        Some(&public),
        "the magnet's first x.pe hint is not the public address: {magnet}"
    );

    if shown.is_none() {
        // Let the protocols that lost the race finish (each attempt ends within 3 s).
        std::thread::sleep(Duration::from_secs(4));
    }
    // The router holds the mapping for both transports. miniupnpd's nftables rules match
    // the IP protocol byte: `@nh,72,8 0x6 th dport PORT` (TCP), `0x11` (UDP).
    let rules = lab.mappings(0);
    for (name, number) in [("TCP", "0x6"), ("UDP", "0x11")] {
        assert!(
            rules.contains(&format!("{number} th dport {port} ")),
            "no {name} mapping of port {port} on the router:\n{rules}"
        );
    }
    if gateway.upnp {
        let listed = lab.upnp_list(0);
        assert!(listed.contains(&format!("{port}->")), "upnpc -l:\n{listed}");
    }

    // A peer on the WAN downloads by the magnet alone.
    let out = t.subdir("out");
    let get_args = args![
        "get",
        &magnet,
        "-o",
        &out,
        "--listen",
        "0.0.0.0:0",
        "--no-dht",
        "--no-lsd",
        "--no-port-mapping"
    ];
    lab.spawn_shoal(&lab.wan_ns, &t, "shoal-get", get_args)
        .wait_success(TRANSFER_TIMEOUT);
    payload.assert_downloaded(&out);

    // Ctrl-C deletes the mapping.
    share.interrupt();
    let finished = share.wait_exit(Duration::from_secs(20));
    assert!(
        finished.status.success(),
        "shoal share did not exit cleanly on SIGINT\n{}",
        share.log_tails()
    );
    let rules = lab.mappings(0);
    assert!(
        !rules.contains(&format!("dport {port}")),
        "the mapping outlived shoal share:\n{rules}"
    );
    if gateway.upnp {
        let listed = lab.upnp_list(0);
        assert!(
            !listed.contains(&format!("{port}->")),
            "upnpc -l:\n{listed}"
        );
    }
}

/// Mappings asked for 20 s are renewed at half that, by each protocol in turn, and are still
/// on the router afterwards; Ctrl-C still deletes them.
#[test]
fn short_mappings_are_renewed_by_each_protocol() {
    if !require(&[Tool::Router]) {
        return;
    }
    let t = TestDir::new("pmrenew");
    let gateway = Gateway {
        upnp: true,
        natpmp: true,
    };
    let Some(lab) = NatLab::create(&t, "pmrenew", &[gateway]) else {
        return;
    };
    let home = &lab.homes[0];
    let payload = payload::single_file(&t, "src", "renewed.bin", 100_000, 19);
    for (protocol, shown) in [("pcp", "PCP"), ("natpmp", "NAT-PMP"), ("upnp", "UPnP")] {
        let args = args![
            "share",
            payload.content(),
            "--listen",
            "0.0.0.0:40003",
            "--no-dht",
            "--no-lsd",
            "--port-mapping",
            protocol,
            "--port-mapping-lifetime",
            "20"
        ];
        let mut share = lab.spawn_shoal(&home.home_ns, &t, "shoal-share", args);
        let wanted = format!("through {shown}");
        share.wait_for_output(REACHABLE_WITHIN, "the reachability line", |log| {
            log.contains(&wanted)
        });
        let mapped = Instant::now();
        share.wait_for_output(Duration::from_secs(20), "a renewal", |log| {
            log.contains("port mapping renewed")
        });
        let renewed = mapped.elapsed();
        eprintln!("{shown}: a 20 s mapping renewed {renewed:?} after it was made");
        assert!(
            renewed >= Duration::from_secs(8),
            "{shown}: renewed after only {renewed:?}"
        );
        let rules = lab.mappings(0);
        assert!(
            rules.contains("0x6 th dport 40003 ") && rules.contains("0x11 th dport 40003 "),
            "{shown}: the renewed mapping is not on the router:\n{rules}"
        );
        share.interrupt();
        share.wait_exit(Duration::from_secs(20));
        let rules = lab.mappings(0);
        assert!(
            !rules.contains("dport 40003"),
            "{shown}: the mapping outlived shoal share:\n{rules}"
        );
    }
}

/// A router whose NAT-PMP, PCP, SSDP and HTTP answers are all wrong: shoal ignores them,
/// keeps sharing, and says within a few seconds that it has no port mapping.
#[test]
fn share_survives_a_gateway_that_answers_garbage() {
    if !require(&[Tool::Router]) {
        return;
    }
    let t = TestDir::new("pmbad");
    let Some(lab) = NatLab::create(&t, "pmbad", &[Gateway::NONE]) else {
        return;
    };
    let home = &lab.homes[0];
    let mut responder = lab.spawn(
        &home.router_ns,
        &t,
        "hostile-gateway",
        DEBIAN_PYTHON,
        args![
            interop_script("hostile_gateway.py"),
            home.gateway_ip.as_str()
        ],
    );
    responder.wait_for_line(Duration::from_secs(10), "`ready`", |l| l == "ready");

    let payload = payload::single_file(&t, "src", "unmapped.bin", MIB / 2 + 1, 18);
    let args = args![
        "share",
        payload.content(),
        "--listen",
        "0.0.0.0:40002",
        "--no-dht",
        "--no-lsd"
    ];
    let started = Instant::now();
    let mut share = lab.spawn_shoal(&home.home_ns, &t, "shoal-share", args);
    share.first_line(REACHABLE_WITHIN, "magnet link");
    let wanted = "behind NAT, no port mapping: reachable by hole punching only";
    share.wait_for_output(REACHABLE_WITHIN, "the no-mapping line", |log| {
        log.contains(wanted)
    });
    let elapsed = started.elapsed();
    eprintln!(
        "hostile gateway: `no port mapping` line {elapsed:?} after start; {}",
        logged_line(&share.stderr(), "no port mapping:").unwrap_or("no log line")
    );
    // The garbage did arrive and was looked at.
    let seen = responder.stdout();
    assert!(
        seen.contains("5351") && seen.contains("ssdp"),
        "the responder saw:\n{seen}"
    );
    let log = share.stderr();
    for ignored in [
        "bad answer ignored",
        "reply ignored",
        "another host",
        "no control URL",
    ] {
        assert!(
            log.contains(ignored),
            "shoal never logged `{ignored}`:\n{log}"
        );
    }
    // Still running, and it stops cleanly.
    std::thread::sleep(Duration::from_secs(1));
    assert!(
        share.try_exit().is_none(),
        "shoal share exited:\n{}",
        share.log_tails()
    );
    share.interrupt();
    let finished = share.wait_exit(Duration::from_secs(20));
    assert!(
        finished.status.success(),
        "shoal share did not exit cleanly on SIGINT\n{}",
        share.log_tails()
    );
}

/// The first log line containing `what`, for the record.
fn logged_line<'a>(log: &'a str, what: &str) -> Option<&'a str> {
    log.lines().find(|l| l.contains(what)).map(str::trim)
}
