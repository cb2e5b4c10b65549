//! Hostile input: floods stay within the caps, replies to nothing we asked are ignored,
//! and node entries that point at port 0 or at ourselves never get a query.

mod common;

use common::*;
use shoal_dht::compact::NodeInfo;
use shoal_dht::krpc::{Body, Message, Method, Response, Tid, Want};
use shoal_dht::{Config, Dht, NodeId};
use std::net::{IpAddr, Ipv4Addr, SocketAddr};
use std::time::Instant;

fn flood_addr(i: u32) -> SocketAddr {
    SocketAddr::new(
        IpAddr::V4(Ipv4Addr::from(0x0a00_0000 + i)),
        1000 + (i % 60000) as u16,
    )
}

#[test]
fn a_query_flood_stays_within_the_caps() {
    let now = Instant::now();
    let cfg = Config {
        max_torrents: 50,
        max_peers_per_torrent: 10,
        max_queued_transmits: 100,
        ..config(1)
    };
    let mut dht = Dht::new(cfg, now);
    let mut buf = [0u8; 1500];
    for i in 0..20_000u32 {
        let from = flood_addr(i);
        let mut id = [0u8; 20];
        id[..4].copy_from_slice(&i.to_be_bytes());
        let info_hash = NodeId([(i % 200) as u8; 20]);
        let get = query(b"g", id, Want::default(), Method::GetPeers { info_hash });
        assert!(dht.handle_datagram(now, from, &get));
        // Read the token back, then announce with it.
        let mut token = None;
        while let Some(t) = dht.poll_transmit(&mut buf) {
            if let Ok(Message {
                body: Body::Response(r),
                ..
            }) = Message::decode(&buf[..t.len])
            {
                if t.to == from {
                    token = r.token;
                }
            }
        }
        let announce = query(
            b"a",
            id,
            Want::default(),
            Method::AnnouncePeer {
                info_hash,
                port: 0,
                implied_port: true,
                token: token.unwrap(),
            },
        );
        assert!(dht.handle_datagram(now, from, &announce));
        // Every 100th round the runtime falls behind: the queue must not grow past its cap.
        if i % 100 != 0 {
            while dht.poll_transmit(&mut buf).is_some() {}
        }
    }
    let s = dht.stats();
    assert!(s.torrents <= 50 && s.peers <= 50 * 10, "{s:?}");
    assert!(s.nodes_v4 <= 160 * 8);
    assert!(s.in_flight <= dht.config().max_in_flight);
    let mut queued = 0;
    while dht.poll_transmit(&mut buf).is_some() {
        queued += 1;
    }
    assert!(queued <= 100);
}

fn response(tid: Tid, id: [u8; 20], ip: Option<SocketAddr>, r: Response) -> Vec<u8> {
    Message {
        tid,
        version: None,
        read_only: false,
        ip,
        body: Body::Response(Response {
            id: NodeId(id),
            ..r
        }),
    }
    .to_bytes()
}

#[test]
fn replies_to_nothing_we_asked_are_ignored() {
    let now = Instant::now();
    let mut dht = Dht::new(config(1), now);
    let stranger: SocketAddr = "10.0.0.7:6881".parse().unwrap();
    let bogus = response(
        Tid::new(b"zz").unwrap(),
        [7; 20],
        Some("10.9.9.9:1".parse().unwrap()),
        Response::default(),
    );
    assert!(dht.handle_datagram(now, stranger, &bogus));
    assert_eq!(dht.stats().nodes_v4, 0);
    assert!(dht.poll_event().is_none());

    // A real request, answered from the wrong address, is ignored too.
    let node: SocketAddr = "10.0.0.8:6881".parse().unwrap();
    dht.add_node(now, node);
    let sent = drain(&mut dht);
    assert_eq!(sent.len(), 1);
    let tid = sent[0].1.tid;
    assert!(dht.handle_datagram(
        now,
        stranger,
        &response(tid, [8; 20], None, Response::default())
    ));
    assert_eq!(dht.stats().nodes_v4, 0);
    // From the right address it counts.
    assert!(dht.handle_datagram(
        now,
        node,
        &response(tid, [8; 20], None, Response::default())
    ));
    assert_eq!(dht.stats().nodes_v4, 1);
    assert!(dht.stats().dropped >= 2);
}

#[test]
fn nodes_at_port_zero_or_ourselves_get_no_query() {
    let now = Instant::now();
    let mut dht = Dht::new(config(1), now);
    let boot: SocketAddr = "10.0.0.2:6881".parse().unwrap();
    let me: SocketAddr = "10.0.0.1:6881".parse().unwrap();
    let lookup = dht.get_peers(now, [5; 20]).unwrap();
    assert!(drain(&mut dht).is_empty(), "no nodes yet");
    let _ = dht.poll_event(); // LookupDone of the empty lookup
    dht.add_bootstrap(now, &[boot]).unwrap();
    let sent = drain(&mut dht);
    assert_eq!(sent.len(), 1);
    let good = NodeInfo {
        id: NodeId([0x11; 20]),
        addr: "10.0.0.3:6881".parse().unwrap(),
    };
    let bad = vec![
        NodeInfo {
            id: NodeId([0x12; 20]),
            addr: "10.0.0.4:0".parse().unwrap(),
        },
        NodeInfo {
            id: NodeId(dht.id()),
            addr: "10.0.0.5:6881".parse().unwrap(),
        },
        NodeInfo {
            id: NodeId([0x13; 20]),
            addr: me,
        },
        NodeInfo {
            id: NodeId([0x14; 20]),
            addr: "0.0.0.0:6881".parse().unwrap(),
        },
    ];
    let mut nodes = bad.clone();
    nodes.push(good);
    // The reply tells us our address (BEP 42) and lists it among the nodes.
    let reply = response(
        sent[0].1.tid,
        [0x22; 20],
        Some(me),
        Response {
            nodes,
            ..Response::default()
        },
    );
    assert!(dht.handle_datagram(now, boot, &reply));
    let next: Vec<SocketAddr> = drain(&mut dht).into_iter().map(|(to, _)| to).collect();
    assert_eq!(next, vec![good.addr]);
    let events: Vec<_> = std::iter::from_fn(|| dht.poll_event()).collect();
    assert!(events.contains(&shoal_dht::Event::ExternalAddress {
        addr: me,
        reported_by: boot
    }));
    let _ = lookup;
}

mod scripts {
    //! The fuzz target `dht_node`'s script, as a property test: random datagrams (some
    //! replies carrying a live transaction id) and timeouts against a node running a
    //! lookup never break its bounds or make it send invalid KRPC.

    use super::*;
    use proptest::prelude::*;
    use std::time::Duration;

    const FROM: [&str; 4] = [
        "10.0.0.2:6881",
        "10.0.0.3:1",
        "[fd00::2]:6881",
        "10.0.0.4:0",
    ];

    fn reply_body() -> impl Strategy<Value = Vec<u8>> {
        prop_oneof![
            proptest::collection::vec(any::<u8>(), 0..64),
            Just(b"1:rd2:id20:abcdefghij01234567895:nodes26:ABCDEFGHIJKLMNOPQRST\x0a\x00\x00\x09\x1a\xe15:token2:tk6:valuesl6:\x0a\x00\x00\x0a\x1a\xe1ee1:y1:re".to_vec()),
            Just(b"1:eli201e1:xe1:y1:ee".to_vec()),
        ]
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(200))]
        #[test]
        fn scripts_keep_the_bounds(steps in proptest::collection::vec((0u8..8, any::<bool>(), reply_body(), 0u64..30), 1..60)) {
            let start = Instant::now();
            let mut now = start;
            let cfg = Config { max_queued_transmits: 32, max_queued_events: 32, ..config(1) };
            let mut dht = Dht::new(cfg, now);
            let boot: Vec<SocketAddr> = FROM[..3].iter().map(|s| s.parse().unwrap()).collect();
            let _ = dht.add_bootstrap(now, &boot);
            let _ = dht.get_peers(now, [7; 20]);
            let mut buf = [0u8; 1500];
            let mut live: Vec<(SocketAddr, Vec<u8>)> = Vec::new();
            for (control, splice, body, wait) in steps {
                if control >= 6 {
                    now += Duration::from_millis(wait * 100);
                    dht.handle_timeout(now);
                } else {
                    let from: SocketAddr = FROM[usize::from(control % 4)].parse().unwrap();
                    let (from, datagram) = match (splice, live.pop()) {
                        (true, Some((to, tid))) => (to, [b"d1:t4:".as_slice(), &tid, &body].concat()),
                        _ => (from, body),
                    };
                    let _ = dht.handle_datagram(now, from, &datagram);
                }
                let mut sent = 0;
                while let Some(t) = dht.poll_transmit(&mut buf) {
                    sent += 1;
                    prop_assert!(sent <= 32);
                    let msg = Message::decode(&buf[..t.len]).expect("we send valid KRPC");
                    if msg.tid.as_bytes().len() == 4 {
                        live.push((t.to, msg.tid.as_bytes().to_vec()));
                    }
                }
                let mut events = 0;
                while dht.poll_event().is_some() {
                    events += 1;
                }
                prop_assert!(events <= 32);
                let s = dht.stats();
                prop_assert!(s.in_flight <= dht.config().max_in_flight);
                prop_assert!(s.lookups <= dht.config().max_lookups);
                prop_assert!(dht.poll_timeout().is_some_and(|t| t >= start));
            }
        }
    }
}
