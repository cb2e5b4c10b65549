//! Helpers shared by the integration tests: a node on private test addresses, queries
//! built with the crate's own codec, and the answers read back.

#![allow(dead_code)]

use shoal_dht::krpc::{Body, Message, Method, Query, Tid, Want};
use shoal_dht::{Config, Dht, NodeId};
use std::net::SocketAddr;
use std::time::Instant;

pub fn config(seed: u64) -> Config {
    Config {
        seed,
        allow_private_addresses: true,
        ..Config::default()
    }
}

pub fn query(tid: &[u8], id: [u8; 20], want: Want, method: Method) -> Vec<u8> {
    Message {
        tid: Tid::new(tid).unwrap(),
        version: Some(b"LT20".to_vec()),
        read_only: false,
        ip: None,
        body: Body::Query(Query {
            id: NodeId(id),
            want,
            method,
        }),
    }
    .to_bytes()
}

/// Every datagram the node wants to send, decoded.
pub fn drain(dht: &mut Dht) -> Vec<(SocketAddr, Message)> {
    let mut buf = [0u8; 1500];
    let mut out = Vec::new();
    while let Some(t) = dht.poll_transmit(&mut buf) {
        out.push((
            t.to,
            Message::decode(&buf[..t.len]).expect("we send valid KRPC"),
        ));
    }
    out
}

/// Sends one query and returns the single answer.
pub fn ask(dht: &mut Dht, now: Instant, from: SocketAddr, bytes: &[u8]) -> Message {
    assert!(dht.handle_datagram(now, from, bytes));
    // Our own queries (pings of doubtful nodes) may go out too; only the answer counts.
    let mut out: Vec<_> = drain(dht)
        .into_iter()
        .filter(|(to, m)| *to == from && !matches!(m.body, Body::Query(_)))
        .collect();
    assert_eq!(out.len(), 1, "one answer: {out:?}");
    out.pop().unwrap().1
}
