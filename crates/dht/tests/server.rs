//! The server side: answers echo any transaction id, carry the `ip` field and the wanted
//! families' nodes, check tokens, honour implied_port, and refuse what is malformed.

mod common;

use common::*;
use shoal_dht::krpc::{code, Body, Method, Response, Want};
use shoal_dht::{Config, Dht, NodeId};
use std::net::SocketAddr;
use std::time::{Duration, Instant};

fn response(m: &shoal_dht::krpc::Message) -> &Response {
    match &m.body {
        Body::Response(r) => r,
        other => panic!("not a response: {other:?}"),
    }
}

fn error_code(m: &shoal_dht::krpc::Message) -> i64 {
    match &m.body {
        Body::Error(e) => e.code,
        other => panic!("not an error: {other:?}"),
    }
}

fn addr(s: &str) -> SocketAddr {
    s.parse().unwrap()
}

#[test]
fn any_tid_length_is_echoed_with_ip_field() {
    let now = Instant::now();
    let mut dht = Dht::new(config(1), now);
    let from = addr("10.0.0.2:7000");
    for tid in [&b""[..], b"ab", b"abcd", b"abcdefgh", &[0xff; 16]] {
        let answer = ask(
            &mut dht,
            now,
            from,
            &query(tid, [2; 20], Want::default(), Method::Ping),
        );
        assert_eq!(answer.tid.as_bytes(), tid);
        assert_eq!(answer.ip, Some(from));
        assert_eq!(response(&answer).id, NodeId(dht.id()));
    }
}

fn token_for(dht: &mut Dht, now: Instant, from: SocketAddr, info_hash: [u8; 20]) -> Vec<u8> {
    let get = query(
        b"gp",
        [3; 20],
        Want::default(),
        Method::GetPeers {
            info_hash: NodeId(info_hash),
        },
    );
    response(&ask(dht, now, from, &get))
        .token
        .clone()
        .expect("a token")
}

#[test]
fn announce_checks_the_token_and_honours_implied_port() {
    let now = Instant::now();
    let mut dht = Dht::new(config(1), now);
    let peer = addr("10.0.0.3:40000");
    let token = token_for(&mut dht, now, peer, [7; 20]);
    let announce = |token: Vec<u8>, implied_port| {
        query(
            b"an",
            [3; 20],
            Want::default(),
            Method::AnnouncePeer {
                info_hash: NodeId([7; 20]),
                port: 6881,
                implied_port,
                token,
            },
        )
    };
    // A wrong token, and the right token from another IP, are refused.
    assert_eq!(
        error_code(&ask(&mut dht, now, peer, &announce(vec![1, 2, 3], false))),
        code::PROTOCOL
    );
    let other = addr("10.0.0.4:40000");
    assert_eq!(
        error_code(&ask(&mut dht, now, other, &announce(token.clone(), false))),
        code::PROTOCOL
    );
    // implied_port: the datagram's source port is stored, not 6881.
    let ok = ask(&mut dht, now, peer, &announce(token.clone(), true));
    assert!(matches!(ok.body, Body::Response(_)));
    let asker = addr("10.0.0.9:1234");
    let get = query(
        b"g2",
        [4; 20],
        Want::default(),
        Method::GetPeers {
            info_hash: NodeId([7; 20]),
        },
    );
    assert_eq!(
        response(&ask(&mut dht, now, asker, &get)).values,
        vec![peer]
    );
    // Still valid after one rotation, not after two.
    let later = now + Duration::from_secs(301);
    dht.handle_timeout(later);
    assert!(matches!(
        ask(&mut dht, later, peer, &announce(token.clone(), false)).body,
        Body::Response(_)
    ));
    let much_later = later + Duration::from_secs(301);
    dht.handle_timeout(much_later);
    assert_eq!(
        error_code(&ask(&mut dht, much_later, peer, &announce(token, false))),
        code::PROTOCOL
    );
}

#[test]
fn want_picks_the_families_of_nodes() {
    let now = Instant::now();
    let mut dht = Dht::new(config(1), now);
    // Nodes of both families query us and so join the tables.
    for i in 1..=5u8 {
        let _ = ask(
            &mut dht,
            now,
            addr(&format!("10.0.1.{i}:6881")),
            &query(b"p", [i; 20], Want::default(), Method::Ping),
        );
        let _ = ask(
            &mut dht,
            now,
            addr(&format!("[fd00::{i}]:6881")),
            &query(b"p", [100 + i; 20], Want::default(), Method::Ping),
        );
    }
    let find = |want| {
        query(
            b"fn",
            [50; 20],
            want,
            Method::FindNode {
                target: NodeId([0; 20]),
            },
        )
    };
    let v4 = addr("10.0.0.2:1");
    let r = ask(&mut dht, now, v4, &find(Want::default()));
    assert_eq!(
        (response(&r).nodes.len(), response(&r).nodes6.len()),
        (5, 0)
    );
    let r = ask(
        &mut dht,
        now,
        v4,
        &find(Want {
            v4: false,
            v6: true,
        }),
    );
    assert_eq!(
        (response(&r).nodes.len(), response(&r).nodes6.len()),
        (0, 5)
    );
    let r = ask(&mut dht, now, v4, &find(Want { v4: true, v6: true }));
    assert_eq!(
        (response(&r).nodes.len(), response(&r).nodes6.len()),
        (5, 5)
    );
    let v6 = addr("[fd00::99]:1");
    let r = ask(&mut dht, now, v6, &find(Want::default()));
    assert_eq!(
        (response(&r).nodes.len(), response(&r).nodes6.len()),
        (0, 5)
    );
    assert_eq!(r.ip, Some(v6));
}

#[test]
fn unknown_and_malformed_queries_get_errors() {
    let now = Instant::now();
    let mut dht = Dht::new(config(1), now);
    let from = addr("10.0.0.2:7000");
    let unknown = query(
        b"u1",
        [2; 20],
        Want::default(),
        Method::Unknown(b"vote".to_vec()),
    );
    let answer = ask(&mut dht, now, from, &unknown);
    assert_eq!(
        (answer.tid.as_bytes(), error_code(&answer)),
        (&b"u1"[..], code::METHOD_UNKNOWN)
    );
    let malformed = b"d1:ad2:id3:abce1:q4:ping1:t2:m11:y1:qe";
    let answer = ask(&mut dht, now, from, malformed);
    assert_eq!(
        (answer.tid.as_bytes(), error_code(&answer)),
        (&b"m1"[..], code::PROTOCOL)
    );
    // Junk is not KRPC and gets nothing.
    assert!(!dht.handle_datagram(now, from, b"\x41\x00junk"));
    assert!(drain(&mut dht).is_empty());
}

#[test]
fn read_only_node_answers_nothing() {
    let now = Instant::now();
    let mut dht = Dht::new(
        Config {
            read_only: true,
            ..config(1)
        },
        now,
    );
    assert!(dht.handle_datagram(
        now,
        addr("10.0.0.2:1"),
        &query(b"x", [2; 20], Want::default(), Method::Ping)
    ));
    assert!(drain(&mut dht).is_empty());
}

#[test]
fn immutable_put_and_get() {
    let now = Instant::now();
    let mut dht = Dht::new(config(1), now);
    let from = addr("10.0.0.2:7000");
    let value = b"12:Hello World!".to_vec();
    let target = shoal_dht::immutable_target(&value);
    let get = query(
        b"g",
        [2; 20],
        Want::default(),
        Method::Get { target, seq: None },
    );
    let first = ask(&mut dht, now, from, &get);
    assert_eq!(response(&first).value, None);
    let token = response(&first).token.clone().unwrap();
    let put = query(
        b"p",
        [2; 20],
        Want::default(),
        Method::Put(shoal_dht::krpc::PutArgs {
            token,
            value: value.clone(),
            mutable: None,
        }),
    );
    assert!(matches!(
        ask(&mut dht, now, from, &put).body,
        Body::Response(_)
    ));
    assert_eq!(response(&ask(&mut dht, now, from, &get)).value, Some(value));
}
