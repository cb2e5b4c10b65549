//! Codec tests: round trips, other clients' messages, hostile input.

use super::*;
use proptest::prelude::*;

fn query(tid: &[u8], method: Method) -> Message {
    Message {
        tid: Tid::new(tid).unwrap(),
        version: Some(b"SH01".to_vec()),
        read_only: false,
        ip: None,
        body: Body::Query(Query {
            id: NodeId([1; 20]),
            want: Want { v4: true, v6: true },
            method,
        }),
    }
}

fn samples() -> Vec<Message> {
    let node4 = NodeInfo {
        id: NodeId([2; 20]),
        addr: "1.2.3.4:5".parse().unwrap(),
    };
    let node6 = NodeInfo {
        id: NodeId([3; 20]),
        addr: "[2001:db8::1]:6".parse().unwrap(),
    };
    vec![
        query(b"aa", Method::Ping),
        query(
            b"",
            Method::FindNode {
                target: NodeId([4; 20]),
            },
        ),
        query(
            b"12345678",
            Method::GetPeers {
                info_hash: NodeId([5; 20]),
            },
        ),
        query(
            b"abcd",
            Method::AnnouncePeer {
                info_hash: NodeId([5; 20]),
                port: 0,
                implied_port: true,
                token: vec![1, 2, 3, 4],
            },
        ),
        query(
            b"q",
            Method::Get {
                target: NodeId([6; 20]),
                seq: Some(3),
            },
        ),
        query(
            b"put!",
            Method::Put(PutArgs {
                token: vec![9; 8],
                value: b"d1:ai1e1:b2:xye".to_vec(),
                mutable: Some(MutableFields {
                    key: [7; 32],
                    seq: 4,
                    sig: [8; 64],
                    salt: b"salt".to_vec(),
                    cas: Some(3),
                }),
            }),
        ),
        Message {
            tid: Tid::new(&[0xff; 16]).unwrap(),
            version: None,
            read_only: true,
            ip: Some("[2001:db8::9]:6881".parse().unwrap()),
            body: Body::Response(Response {
                id: NodeId([9; 20]),
                nodes: vec![node4],
                nodes6: vec![node6],
                values: vec![
                    "5.6.7.8:9".parse().unwrap(),
                    "[2001:db8::2]:10".parse().unwrap(),
                ],
                token: Some(vec![1; 8]),
                value: Some(b"li1ei2ee".to_vec()),
                key: Some([1; 32]),
                seq: Some(9),
                sig: Some([2; 64]),
            }),
        },
        Message {
            tid: Tid::new(b"zz").unwrap(),
            version: None,
            read_only: false,
            ip: None,
            body: Body::Error(ErrorBody {
                code: code::METHOD_UNKNOWN,
                message: "method unknown".into(),
            }),
        },
    ]
}

#[test]
fn round_trips() {
    for m in samples() {
        let bytes = m.to_bytes();
        assert_eq!(
            Message::decode(&bytes).as_ref(),
            Ok(&m),
            "{}",
            String::from_utf8_lossy(&bytes)
        );
        // Canonical: decoding and re-encoding gives the same bytes.
        assert_eq!(Message::decode(&bytes).unwrap().to_bytes(), bytes);
    }
}

#[test]
fn libtorrent_style_two_byte_tid() {
    // A libtorrent get_peers: 2-byte tid, 4-byte version, keys sorted.
    let mut raw = b"d1:ad2:id20:".to_vec();
    raw.extend_from_slice(&[0xaa; 20]);
    raw.extend_from_slice(b"9:info_hash20:");
    raw.extend_from_slice(&[0xbb; 20]);
    raw.extend_from_slice(b"e1:q9:get_peers1:t2:\x8f\x02");
    raw.extend_from_slice(b"1:v4:LT\x02\x00");
    raw.extend_from_slice(b"1:y1:qe");
    let m = Message::decode(&raw).unwrap();
    assert_eq!(m.tid.as_bytes(), b"\x8f\x02");
    assert_eq!(m.version.as_deref(), Some(&b"LT\x02\x00"[..]));
    let Body::Query(q) = m.body else {
        panic!("not a query")
    };
    assert_eq!(q.id, NodeId([0xaa; 20]));
    assert_eq!(
        q.method,
        Method::GetPeers {
            info_hash: NodeId([0xbb; 20])
        }
    );
}

#[test]
fn bep5_examples() {
    let ping = b"d1:ad2:id20:abcdefghij0123456789e1:q4:ping1:t2:aa1:y1:qe";
    assert!(matches!(
        Message::decode(ping).unwrap().body,
        Body::Query(Query {
            method: Method::Ping,
            ..
        })
    ));
    let err = b"d1:eli201e23:A Generic Error Ocurrede1:t2:aa1:y1:ee";
    let Body::Error(e) = Message::decode(err).unwrap().body else {
        panic!()
    };
    assert_eq!(
        (e.code, e.message.as_str()),
        (201, "A Generic Error Ocurred")
    );
    let announce = b"d1:ad2:id20:abcdefghij012345678912:implied_porti1e9:info_hash20:mnopqrstuvwxyz1234564:porti6881e5:token8:aoeusnthe1:q13:announce_peer1:t2:aa1:y1:qe";
    let Body::Query(q) = Message::decode(announce).unwrap().body else {
        panic!()
    };
    assert!(matches!(
        q.method,
        Method::AnnouncePeer {
            implied_port: true,
            port: 6881,
            ..
        }
    ));
}

#[test]
fn malformed_queries_keep_their_tid() {
    let no_target = b"d1:ad2:id20:abcdefghij0123456789e1:q9:find_node1:t3:xyz1:y1:qe";
    match Message::decode(no_target) {
        Err(DecodeError::BadQuery { tid, .. }) => assert_eq!(tid.as_bytes(), b"xyz"),
        other => panic!("{other:?}"),
    }
    let unknown = b"d1:ad2:id20:abcdefghij0123456789e1:q6:frobby1:t1:x1:y1:qe";
    let Body::Query(q) = Message::decode(unknown).unwrap().body else {
        panic!()
    };
    assert_eq!(q.method, Method::Unknown(b"frobby".to_vec()));
    // Too long a tid is refused outright.
    let long = format!(
        "d1:ad2:id20:abcdefghij0123456789e1:q4:ping1:t17:{}1:y1:qe",
        "x".repeat(17)
    );
    assert_eq!(Message::decode(long.as_bytes()), Err(DecodeError::BadTid));
    assert_eq!(Message::decode(b"garbage"), Err(DecodeError::NotKrpc));
    // A ragged nodes string, a non-canonical value in a put.
    let ragged = b"d1:rd2:id20:abcdefghij01234567895:nodes3:abce1:t1:x1:y1:re";
    assert!(matches!(
        Message::decode(ragged),
        Err(DecodeError::BadReply(_))
    ));
    let unsorted =
        b"d1:ad2:id20:abcdefghij01234567895:token1:x1:vd1:bi1e1:ai2eee1:q3:put1:t1:x1:y1:qe";
    assert!(matches!(
        Message::decode(unsorted),
        Err(DecodeError::BadQuery { .. })
    ));
}

#[test]
fn lists_are_capped() {
    let mut nodes = Vec::new();
    for i in 0..100u8 {
        nodes.extend_from_slice(&[i; 20]);
        nodes.extend_from_slice(&[1, 2, 3, 4, 0, 1]);
    }
    let mut raw = b"d1:rd2:id20:abcdefghij01234567895:nodes2600:".to_vec();
    raw.extend_from_slice(&nodes);
    raw.extend_from_slice(b"e1:t1:x1:y1:re");
    let Body::Response(r) = Message::decode(&raw).unwrap().body else {
        panic!()
    };
    assert_eq!(r.nodes.len(), MAX_NODES);
}

proptest! {
    #[test]
    fn random_bytes_never_panic(data in proptest::collection::vec(any::<u8>(), 0..512)) {
        let _ = Message::decode(&data);
    }

    #[test]
    fn mutated_messages_never_panic(which in 0usize..8, flips in proptest::collection::vec((any::<usize>(), any::<u8>()), 1..8), cut in any::<usize>()) {
        let mut bytes = samples()[which].to_bytes();
        for (at, b) in flips {
            let n = bytes.len();
            bytes[at % n] = b;
        }
        let n = bytes.len();
        let _ = Message::decode(&bytes);
        let _ = Message::decode(&bytes[..cut % (n + 1)]);
        if let Ok(m) = Message::decode(&bytes) {
            // Whatever decodes re-encodes and decodes to the same message.
            prop_assert_eq!(Message::decode(&m.to_bytes()), Ok(m));
        }
    }
}
