//! Extension payloads: BEP 10 handshake, BEP 9 ut_metadata, BEP 11 ut_pex.

use std::net::{IpAddr, Ipv4Addr, SocketAddr};

use bytes::Bytes;
use shoal_wire::ext::{
    pex_flags, ExtHandshake, MetadataMsg, PexMsg, METADATA_PIECE_LEN, OUR_UT_METADATA_ID,
    OUR_UT_PEX_ID, PEX_MAX_ENTRIES, UT_METADATA, UT_PEX,
};
use shoal_wire::WireError;

fn addr(s: &str) -> SocketAddr {
    s.parse().unwrap()
}

#[test]
fn ext_handshake_encodes_sorted_bencode() {
    let hs = ExtHandshake {
        m: vec![
            (UT_METADATA.into(), OUR_UT_METADATA_ID),
            (UT_PEX.into(), OUR_UT_PEX_ID),
        ],
        client: Some("shoal 0.1".into()),
        listen_port: Some(6881),
        reqq: Some(250),
        metadata_size: Some(31235),
        yourip: Some(IpAddr::V4(Ipv4Addr::new(10, 0, 0, 1))),
        upload_only: true,
    };
    assert_eq!(
        &hs.encode()[..],
        &b"d1:md11:ut_metadatai1e6:ut_pexi2ee13:metadata_sizei31235e1:pi6881e4:reqqi250e\
           11:upload_onlyi1e1:v9:shoal 0.16:yourip4:\x0a\x00\x00\x01e"[..]
    );
    assert_eq!(ExtHandshake::decode(&hs.encode()), Ok(hs));
}

#[test]
fn ext_handshake_reads_the_bep10_example_and_ignores_unknown_keys() {
    let payload = b"d1:md11:LT_metadatai1e6:ut_pexi2ee1:pi6881e1:v13:\xc2\xb5Torrent 1.21:xi5ee";
    let hs = ExtHandshake::decode(payload).unwrap();
    assert_eq!(hs.id_of("LT_metadata"), Some(1));
    assert_eq!(hs.id_of(UT_PEX), Some(2));
    assert_eq!(hs.id_of(UT_METADATA), None);
    assert_eq!(hs.listen_port, Some(6881));
    assert_eq!(hs.client.as_deref(), Some("µTorrent 1.2"));
    assert_eq!(hs.metadata_size, None);
    assert!(!hs.upload_only);
}

#[test]
fn ext_handshake_id_zero_means_disabled() {
    let hs = ExtHandshake::decode(b"d1:md11:ut_metadatai0eee").unwrap();
    assert_eq!(hs.m, vec![(UT_METADATA.to_string(), 0)]);
    assert_eq!(hs.id_of(UT_METADATA), None);
}

#[test]
fn ext_handshake_treats_out_of_range_values_as_absent() {
    let hs = ExtHandshake::decode(
        b"d1:md1:ai300e1:bi-1e1:c1:x1:di7ee13:metadata_sizei-5e1:pi70000e4:reqqi-1e6:yourip3:abce",
    )
    .unwrap();
    assert_eq!(hs.m, vec![("d".to_string(), 7)]);
    assert_eq!(hs.metadata_size, None);
    assert_eq!(hs.listen_port, None);
    assert_eq!(hs.reqq, None);
    assert_eq!(hs.yourip, None);
}

#[test]
fn ext_handshake_rejects_non_dictionaries_and_bad_bencode() {
    assert!(matches!(
        ExtHandshake::decode(b"li1ee"),
        Err(WireError::BadExtension(_))
    ));
    assert!(matches!(
        ExtHandshake::decode(b"d1:m"),
        Err(WireError::BadBencode(_))
    ));
    assert!(ExtHandshake::decode(b"").is_err());
}

#[test]
fn metadata_messages_have_the_bep9_bytes() {
    assert_eq!(
        &MetadataMsg::Request { piece: 0 }.encode()[..],
        b"d8:msg_typei0e5:piecei0ee"
    );
    assert_eq!(
        &MetadataMsg::Reject { piece: 3 }.encode()[..],
        b"d8:msg_typei2e5:piecei3ee"
    );
    let data = MetadataMsg::Data {
        piece: 1,
        total_size: 34256,
        data: Bytes::from_static(b"xxxx"),
    };
    assert_eq!(
        &data.encode()[..],
        b"d8:msg_typei1e5:piecei1e10:total_sizei34256eexxxx"
    );
}

#[test]
fn metadata_messages_round_trip() {
    for msg in [
        MetadataMsg::Request { piece: 7 },
        MetadataMsg::Reject { piece: u32::MAX },
        MetadataMsg::Data {
            piece: 2,
            total_size: 40000,
            data: Bytes::from(vec![0xEE; METADATA_PIECE_LEN]),
        },
        MetadataMsg::Data {
            piece: 0,
            total_size: 0,
            data: Bytes::new(),
        },
    ] {
        assert_eq!(MetadataMsg::decode(&msg.encode()), Ok(msg));
    }
}

#[test]
fn metadata_data_is_a_slice_of_the_payload() {
    let payload = MetadataMsg::Data {
        piece: 0,
        total_size: 100,
        data: Bytes::from(vec![1; 100]),
    }
    .encode();
    let Ok(MetadataMsg::Data { data, .. }) = MetadataMsg::decode(&payload) else {
        panic!("expected data");
    };
    let start = payload.as_ptr() as usize;
    assert_eq!(data.as_ptr() as usize, start + payload.len() - 100);
}

#[test]
fn metadata_strictness() {
    // BEP 9: unknown message types are to be ignored, so they get their own error.
    assert_eq!(
        MetadataMsg::decode(&Bytes::from_static(b"d8:msg_typei9e5:piecei0ee")),
        Err(WireError::UnknownMetadataMsgType(9))
    );
    for bad in [
        &b"d5:piecei0ee"[..],                          // no msg_type
        b"d8:msg_typei0ee",                            // no piece
        b"d8:msg_typei0e5:piecei-1ee",                 // negative piece
        b"d8:msg_typei1e5:piecei0ee",                  // data without total_size
        b"d8:msg_typei1e5:piecei0e10:total_sizei-1ee", // negative total_size
        b"i1e",                                        // not a dictionary
        b"d8:msg_typei0e5:piecei0e",                   // truncated
    ] {
        assert!(
            MetadataMsg::decode(&Bytes::copy_from_slice(bad)).is_err(),
            "{}",
            String::from_utf8_lossy(bad)
        );
    }
    let oversized = MetadataMsg::Data {
        piece: 0,
        total_size: 1 << 20,
        data: Bytes::from(vec![0; METADATA_PIECE_LEN + 1]),
    }
    .encode();
    assert!(MetadataMsg::decode(&oversized).is_err());
}

#[test]
fn pex_round_trips_both_families() {
    let msg = PexMsg {
        added: vec![addr("1.2.3.4:6881"), addr("5.6.7.8:1"), addr("[::1]:51413")],
        added_flags: vec![
            pex_flags::SEED,
            0,
            pex_flags::REACHABLE | pex_flags::SUPPORTS_UTP,
        ],
        dropped: vec![addr("9.9.9.9:9"), addr("[2001:db8::2]:80")],
    };
    assert_eq!(PexMsg::decode(&msg.encode()), Ok(msg));
}

#[test]
fn pex_encodes_compact_fields() {
    let msg = PexMsg {
        added: vec![addr("1.2.3.4:258")],
        added_flags: vec![2],
        dropped: vec![],
    };
    assert_eq!(
        &msg.encode()[..],
        b"d5:added6:\x01\x02\x03\x04\x01\x027:added.f1:\x026:added60:8:added6.f0:7:dropped0:8:dropped60:e"
    );
}

#[test]
fn pex_decode_is_lenient_about_flags_and_partial_entries() {
    // Two IPv4 peers plus two stray bytes, one flag only, no added6, dropped of the wrong type.
    let pex = PexMsg::decode(
        b"d5:added14:\x01\x02\x03\x04\x00\x50\x05\x06\x07\x08\x00\x51\xff\xff7:added.f1:\x107:droppedi3ee",
    )
    .unwrap();
    assert_eq!(pex.added, vec![addr("1.2.3.4:80"), addr("5.6.7.8:81")]);
    assert_eq!(pex.added_flags, vec![0x10, 0]);
    assert!(pex.dropped.is_empty());
}

#[test]
fn pex_caps_entries_per_list() {
    let many = PexMsg {
        added: (0..500u16)
            .map(|i| SocketAddr::from(([10, 0, 0, 1], i)))
            .collect(),
        added_flags: vec![],
        dropped: (0..500u16)
            .map(|i| SocketAddr::from(([0u16; 8], i)))
            .collect(),
    };
    let decoded = PexMsg::decode(&many.encode()).unwrap();
    assert_eq!(decoded.added.len(), PEX_MAX_ENTRIES);
    assert_eq!(decoded.added_flags.len(), PEX_MAX_ENTRIES);
    assert_eq!(decoded.dropped.len(), PEX_MAX_ENTRIES);
    assert_eq!(decoded.added[..], many.added[..PEX_MAX_ENTRIES]);
}

#[test]
fn pex_rejects_non_dictionaries() {
    assert!(PexMsg::decode(b"le").is_err());
    assert!(PexMsg::decode(b"d5:added").is_err());
}
