//! Property tests of the extension payloads: round trips and no panics on arbitrary input.

use std::net::{IpAddr, Ipv6Addr, SocketAddr, SocketAddrV6};

use bytes::Bytes;
use proptest::prelude::*;
use shoal_wire::ext::{
    ExtHandshake, HolepunchErrorCode, HolepunchMsg, MetadataMsg, PexMsg, METADATA_PIECE_LEN,
};

fn arb_ip() -> impl Strategy<Value = IpAddr> {
    prop_oneof![
        any::<[u8; 4]>().prop_map(IpAddr::from),
        any::<[u8; 16]>().prop_map(IpAddr::from),
    ]
}

fn arb_ext_handshake() -> impl Strategy<Value = ExtHandshake> {
    (
        prop::collection::btree_map("[a-zA-Z_]{1,12}", any::<u8>(), 0..6),
        prop::option::of("\\PC{0,20}"),
        prop::option::of(1u16..),
        prop::option::of(any::<u32>()),
        prop::option::of(0u64..(1 << 40)),
        prop::option::of(arb_ip()),
        any::<bool>(),
    )
        .prop_map(
            |(m, client, listen_port, reqq, metadata_size, yourip, upload_only)| ExtHandshake {
                m: m.into_iter().collect(),
                client,
                listen_port,
                reqq,
                metadata_size,
                yourip,
                upload_only,
            },
        )
}

fn arb_metadata_msg() -> impl Strategy<Value = MetadataMsg> {
    prop_oneof![
        any::<u32>().prop_map(|piece| MetadataMsg::Request { piece }),
        any::<u32>().prop_map(|piece| MetadataMsg::Reject { piece }),
        (
            any::<u32>(),
            0u64..(i64::MAX as u64),
            prop::collection::vec(any::<u8>(), 0..=METADATA_PIECE_LEN / 64)
        )
            .prop_map(|(piece, total_size, data)| MetadataMsg::Data {
                piece,
                total_size,
                data: Bytes::from(data),
            }),
    ]
}

fn arb_addr(v6: bool) -> BoxedStrategy<SocketAddr> {
    if v6 {
        (any::<[u8; 16]>(), any::<u16>())
            .prop_map(|(ip, port)| {
                SocketAddr::V6(SocketAddrV6::new(Ipv6Addr::from(ip), port, 0, 0))
            })
            .boxed()
    } else {
        (any::<[u8; 4]>(), any::<u16>())
            .prop_map(|(ip, port)| SocketAddr::from((ip, port)))
            .boxed()
    }
}

/// Decoded PEX lists IPv4 before IPv6, so generate them in that order.
fn arb_pex() -> impl Strategy<Value = PexMsg> {
    let list = || {
        (
            prop::collection::vec(arb_addr(false), 0..10),
            prop::collection::vec(arb_addr(true), 0..10),
        )
            .prop_map(|(mut v4, v6)| {
                v4.extend(v6);
                v4
            })
    };
    (list(), list())
        .prop_flat_map(|(added, dropped)| {
            let n = added.len();
            (
                Just(added),
                prop::collection::vec(any::<u8>(), n..=n),
                Just(dropped),
            )
        })
        .prop_map(|(added, added_flags, dropped)| PexMsg {
            added,
            added_flags,
            dropped,
        })
}

fn arb_holepunch() -> impl Strategy<Value = HolepunchMsg> {
    let addr = prop_oneof![arb_addr(false), arb_addr(true)];
    (addr, 0u8..3, any::<u32>()).prop_map(|(addr, kind, code)| match kind {
        0 => HolepunchMsg::Rendezvous(addr),
        1 => HolepunchMsg::Connect(addr),
        _ => HolepunchMsg::Error {
            addr,
            code: match code % 6 {
                1 => HolepunchErrorCode::NoSuchPeer,
                2 => HolepunchErrorCode::NotConnected,
                3 => HolepunchErrorCode::NoSupport,
                4 => HolepunchErrorCode::NoSelf,
                _ => HolepunchErrorCode::Other(code.max(5)),
            },
        },
    })
}

proptest! {
    #[test]
    fn holepunch_round_trips(msg in arb_holepunch()) {
        prop_assert_eq!(HolepunchMsg::decode(&msg.encode()), Ok(msg));
    }

    #[test]
    fn ext_handshake_round_trips(hs in arb_ext_handshake()) {
        prop_assert_eq!(ExtHandshake::decode(&hs.encode()), Ok(hs));
    }

    #[test]
    fn metadata_msg_round_trips(msg in arb_metadata_msg()) {
        prop_assert_eq!(MetadataMsg::decode(&msg.encode()), Ok(msg));
    }

    #[test]
    fn pex_round_trips(msg in arb_pex()) {
        prop_assert_eq!(PexMsg::decode(&msg.encode()), Ok(msg));
    }

    #[test]
    fn arbitrary_payloads_never_panic(bytes in prop::collection::vec(any::<u8>(), 0..512)) {
        let _ = ExtHandshake::decode(&bytes);
        let _ = PexMsg::decode(&bytes);
        let _ = HolepunchMsg::decode(&bytes);
        let _ = MetadataMsg::decode(&Bytes::from(bytes.clone()));
        let _ = shoal_wire::Handshake::decode(&bytes);
    }

    #[test]
    fn dictionary_shaped_payloads_never_panic(
        entries in prop::collection::vec(
            (
                prop_oneof![
                    Just("m"), Just("p"), Just("v"), Just("reqq"), Just("yourip"),
                    Just("metadata_size"), Just("upload_only"), Just("msg_type"), Just("piece"),
                    Just("total_size"), Just("added"), Just("added.f"), Just("added6"),
                    Just("dropped"), Just("dropped6"),
                ],
                prop_oneof![
                    any::<i64>().prop_map(|n| format!("i{n}e").into_bytes()),
                    prop::collection::vec(any::<u8>(), 0..40)
                        .prop_map(|b| [format!("{}:", b.len()).into_bytes(), b].concat()),
                    Just(b"d1:ai1e1:bi300ee".to_vec()),
                ],
            ),
            0..8,
        ),
        trailer in prop::collection::vec(any::<u8>(), 0..40),
    ) {
        // Keys may repeat or be unsorted: peers send such dictionaries too.
        let mut payload = b"d".to_vec();
        for (key, value) in entries {
            payload.extend(format!("{}:{}", key.len(), key).into_bytes());
            payload.extend(value);
        }
        payload.push(b'e');
        payload.extend(trailer);
        let _ = ExtHandshake::decode(&payload);
        let _ = PexMsg::decode(&payload);
        let _ = MetadataMsg::decode(&Bytes::from(payload));
    }
}
