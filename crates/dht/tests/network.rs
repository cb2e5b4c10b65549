//! 240 nodes of both families (some IPv4-only, some IPv6-only) on a simulated network with
//! loss: bootstrap fills the tables, an announced torrent is found from either family,
//! BEP 44 items go round trip, and everything finishes within simulated time bounds. The
//! same seed repeats the same run.

mod sim;

use shoal_dht::{Event, MutableItem};
use sim::{Net, Stack};
use std::time::Duration;

const NODES: usize = 240;

/// Builds the network: node 0 (dual-stack) is everyone's bootstrap; nodes join 20 ms
/// apart; every fifth is IPv4-only, every seventh IPv6-only.
fn build(seed: u64) -> Net {
    let mut net = Net::new(seed, 30);
    let boot = net.add(Stack::Dual);
    let boot_addrs = net.addrs(boot);
    for i in 1..NODES {
        let stack = match i {
            _ if i % 5 == 0 => Stack::V4,
            _ if i % 7 == 0 => Stack::V6,
            _ => Stack::Dual,
        };
        let n = net.add(stack);
        let now = net.now;
        net.nodes[n].dht.add_bootstrap(now, &boot_addrs).unwrap();
        net.settle(n);
        net.run_for(Duration::from_millis(20));
    }
    net.run_for(Duration::from_secs(30));
    net
}

fn average_table(net: &Net) -> (f64, usize) {
    let sizes: Vec<usize> = net
        .nodes
        .iter()
        .map(|n| {
            let s = n.dht.stats();
            s.nodes_v4 + s.nodes_v6
        })
        .collect();
    (
        sizes.iter().sum::<usize>() as f64 / sizes.len() as f64,
        *sizes.iter().min().unwrap(),
    )
}

#[test]
fn bootstrap_announce_find_and_items() {
    let seed = std::env::var("SIM_SEED")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(7);
    let mut net = build(seed);
    let (avg, min) = average_table(&net);
    assert!(
        avg >= 20.0 && min >= 8,
        "tables after bootstrap: average {avg}, smallest {min}"
    );

    // A dual-stack node announces (implied port) over both families.
    let info_hash = [0x42; 20];
    let (announcer, v4_finder, v6_finder) = (11, 15, 14);
    assert_eq!(net.addrs(v4_finder).len(), 1);
    assert!(net.nodes[v6_finder].v4.is_none());
    let now = net.now;
    let a = net.nodes[announcer]
        .dht
        .announce(now, info_hash, None)
        .unwrap();
    net.settle(announcer);
    assert!(net.run_until(Duration::from_secs(30), |n| n.done(announcer, a).is_some()));
    let outcome = net.done(announcer, a).unwrap();
    assert!(
        outcome.stored >= 8,
        "announce stored on {} nodes",
        outcome.stored
    );

    // An IPv4-only node and an IPv6-only node find it, each by its own family.
    let now = net.now;
    let g4 = net.nodes[v4_finder].dht.get_peers(now, info_hash).unwrap();
    net.settle(v4_finder);
    let g6 = net.nodes[v6_finder].dht.get_peers(now, info_hash).unwrap();
    net.settle(v6_finder);
    assert!(net.run_until(Duration::from_secs(30), |n| {
        n.done(v4_finder, g4).is_some() && n.done(v6_finder, g6).is_some()
    }));
    let announcer_v4 = net.nodes[announcer].v4.unwrap();
    let announcer_v6 = net.nodes[announcer].v6.unwrap();
    assert!(net.peers(v4_finder, g4).contains(&announcer_v4));
    assert!(net.peers(v6_finder, g6).contains(&announcer_v6));

    // An announce right after a get_peers uses its tokens: no second walk, stores at once.
    let now = net.now;
    let a2 = net.nodes[v4_finder]
        .dht
        .announce(now, info_hash, Some(7000))
        .unwrap();
    net.settle(v4_finder);
    assert!(net.run_until(Duration::from_secs(5), |n| n.done(v4_finder, a2).is_some()));
    let reused = net.done(v4_finder, a2).unwrap();
    assert_eq!(reused.responded, 0, "no walk: {reused:?}");
    assert!(reused.stored >= 5, "{reused:?}");

    // BEP 44 immutable: put by one node, got by another.
    let value = b"l5:hello5:worlde".to_vec();
    let now = net.now;
    let p = net.nodes[20].dht.put_immutable(now, &value).unwrap();
    net.settle(20);
    assert!(net.run_until(Duration::from_secs(30), |n| n.done(20, p).is_some()));
    let stored = net.done(20, p).unwrap().stored;
    assert!(stored >= 5, "immutable put stored on {stored}");
    let now = net.now;
    let target = shoal_dht::immutable_target(&value);
    let g = net.nodes[33].dht.get_immutable(now, target.0).unwrap();
    net.settle(33);
    assert!(net.run_until(Duration::from_secs(30), |n| n.done(33, g).is_some()));
    assert!(net.nodes[33].events.iter().any(
        |e| matches!(e, Event::Immutable { lookup, value: v } if *lookup == g && *v == value)
    ));

    // BEP 44 mutable: version 1 then 2 put, the getter sees version 2.
    let secret = [9u8; 32];
    for seq in [1, 2] {
        let item = MutableItem::sign(&secret, b"salt", seq, format!("i{seq}e").as_bytes()).unwrap();
        let now = net.now;
        let p = net.nodes[40].dht.put_mutable(now, item, None).unwrap();
        net.settle(40);
        assert!(net.run_until(Duration::from_secs(30), |n| n.done(40, p).is_some()));
        let stored = net.done(40, p).unwrap().stored;
        // Node 40 is IPv4-only: at most k = 8 stores, some lost.
        assert!(stored >= 5, "mutable put v{seq} stored on {stored}");
    }
    let now = net.now;
    let key = MutableItem::public_key(&secret);
    let g = net.nodes[77].dht.get_mutable(now, key, b"salt").unwrap();
    net.settle(77);
    assert!(net.run_until(Duration::from_secs(30), |n| n.done(77, g).is_some()));
    let best = net.nodes[77]
        .events
        .iter()
        .filter_map(|e| match e {
            Event::Mutable { lookup, item } if *lookup == g => Some(item.seq),
            _ => None,
        })
        .max();
    assert_eq!(best, Some(2));

    // Everyone heard their address from someone (BEP 42), and nothing grew unbounded.
    assert!(net.nodes.iter().all(|n| n.external_reports > 0));
    for n in &net.nodes {
        let s = n.dht.stats();
        assert!(
            s.in_flight <= n.dht.config().max_in_flight && s.lookups <= n.dht.config().max_lookups
        );
    }
}

#[test]
fn same_seed_same_run() {
    let fingerprint = |seed| {
        let net = build(seed);
        let tables: Vec<_> = net.nodes.iter().map(|n| n.dht.stats()).collect();
        (net.delivered, net.lost, tables)
    };
    assert_eq!(fingerprint(3), fingerprint(3));
}
