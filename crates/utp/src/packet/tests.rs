use super::*;
use proptest::prelude::*;

fn header(packet_type: PacketType) -> Header {
    Header {
        packet_type,
        connection_id: 0xbeef,
        timestamp_us: 0x0102_0304,
        timestamp_diff_us: 0xa0b0_c0d0,
        wnd_size: 1 << 20,
        seq_nr: 65_535,
        ack_nr: 7,
    }
}

fn encode(p: &Packet<'_>) -> Vec<u8> {
    let mut out = vec![0u8; p.encoded_len()];
    assert_eq!(p.encode(&mut out), Ok(out.len()));
    out
}

#[test]
fn round_trips_every_type() {
    let mask = [0b101u8, 0, 0, 0x80];
    for ty in [
        PacketType::Data,
        PacketType::Fin,
        PacketType::State,
        PacketType::Reset,
        PacketType::Syn,
    ] {
        for sack in [None, SelectiveAck::new(&mask)] {
            let p = Packet {
                header: header(ty),
                sack,
                payload: b"payload",
            };
            let bytes = encode(&p);
            assert!(looks_like_utp(&bytes));
            assert_eq!(Packet::decode(&bytes), Ok(p));
        }
    }
}

#[test]
fn wire_layout() {
    let p = Packet {
        header: header(PacketType::State),
        sack: None,
        payload: b"",
    };
    let bytes = encode(&p);
    assert_eq!(
        bytes,
        [
            0x21, 0, 0xbe, 0xef, 1, 2, 3, 4, 0xa0, 0xb0, 0xc0, 0xd0, 0, 0x10, 0, 0, 0xff, 0xff, 0,
            7
        ]
    );
}

#[test]
fn sack_bits() {
    let mask = [0b0000_0101u8, 0, 0, 0x80];
    let s = SelectiveAck::new(&mask).unwrap();
    assert!(s.is_set(0) && !s.is_set(1) && s.is_set(2) && s.is_set(31) && !s.is_set(32));
    assert_eq!(s.iter_set().collect::<Vec<_>>(), [0, 2, 31]);
    assert_eq!(s.len_bits(), 32);
    assert!(SelectiveAck::new(&[0; 3]).is_some());
    assert!(SelectiveAck::new(&[0; 256]).is_none());
    assert!(SelectiveAck::new(&[]).is_none());
}

#[test]
fn skips_unknown_extensions() {
    let mut bytes = encode(&Packet {
        header: header(PacketType::Data),
        sack: None,
        payload: b"",
    });
    bytes[1] = 2; // "extension bits", 8 bytes, then a SACK, then the payload
    bytes.extend_from_slice(&[1, 8, 0, 0, 0, 0, 0, 0, 0, 0]);
    bytes.extend_from_slice(&[0, 4, 1, 0, 0, 0]);
    bytes.extend_from_slice(b"hi");
    let p = Packet::decode(&bytes).unwrap();
    assert_eq!(p.sack.unwrap().bitmask(), [1, 0, 0, 0]);
    assert_eq!(p.payload, b"hi");
}

#[test]
fn every_malformed_case() {
    let good = encode(&Packet {
        header: header(PacketType::Data),
        sack: None,
        payload: b"",
    });
    assert_eq!(Packet::decode(&good[..19]), Err(DecodeError::TooShort(19)));
    assert_eq!(Packet::decode(&[]), Err(DecodeError::TooShort(0)));

    let mut b = good.clone();
    b[0] = 0x02;
    assert_eq!(Packet::decode(&b), Err(DecodeError::BadVersion(2)));
    b[0] = 0x51;
    assert_eq!(Packet::decode(&b), Err(DecodeError::BadType(5)));
    assert!(!looks_like_utp(&b));
    assert!(!looks_like_utp(
        b"d1:ad2:id20:aaaaaaaaaaaaaaaaaaaae1:q4:ping1:t2:aa1:y1:qe"
    ));

    let mut b = good.clone();
    b[1] = 1;
    assert_eq!(Packet::decode(&b), Err(DecodeError::ExtensionTruncated));
    b.push(0);
    assert_eq!(Packet::decode(&b), Err(DecodeError::ExtensionTruncated));
    b.push(8);
    b.extend_from_slice(&[0; 4]);
    assert_eq!(
        Packet::decode(&b),
        Err(DecodeError::ExtensionOverflow { len: 8, left: 4 })
    );

    // libtorrent's SACKs are ceil(span / 8) bytes, not always a multiple of 4.
    let mut b = good.clone();
    b[1] = 1;
    b.extend_from_slice(&[0, 3, 0b10, 0, 0]);
    let p = Packet::decode(&b).unwrap();
    assert_eq!(p.sack.unwrap().iter_set().collect::<Vec<_>>(), [1]);
    assert_eq!(encode(&p), b);
    let mut b = good.clone();
    b[1] = 1;
    b.extend_from_slice(&[0, 0]);
    assert_eq!(Packet::decode(&b), Err(DecodeError::BadSackLength(0)));

    let mut b = good.clone();
    b[1] = 9;
    for _ in 0..MAX_EXTENSIONS {
        b.extend_from_slice(&[9, 0]);
    }
    assert_eq!(Packet::decode(&b), Err(DecodeError::TooManyExtensions));
}

#[test]
fn encode_checks_the_buffer() {
    let p = Packet {
        header: header(PacketType::Data),
        sack: None,
        payload: b"abc",
    };
    let mut small = [0u8; 22];
    assert_eq!(
        p.encode(&mut small),
        Err(BufferTooSmall { need: 23, have: 22 })
    );
}

proptest! {
    #[test]
    fn decode_never_panics_and_round_trips(data in proptest::collection::vec(any::<u8>(), 0..200)) {
        if let Ok(p) = Packet::decode(&data) {
            let again = encode(&p);
            prop_assert_eq!(Packet::decode(&again), Ok(p));
        }
    }

    #[test]
    fn valid_headers_round_trip(
        ty in 0u8..5, id: u16, ts: u32, diff: u32, wnd: u32, seq: u16, ack: u16,
        mask in proptest::collection::vec(any::<u8>(), 1..9),
        payload in proptest::collection::vec(any::<u8>(), 0..64),
    ) {
        let mask: Vec<u8> = mask.iter().cycle().take(4 * mask.len()).copied().collect();
        let p = Packet {
            header: Header {
                packet_type: PacketType::from_nibble(ty).unwrap(),
                connection_id: id, timestamp_us: ts, timestamp_diff_us: diff,
                wnd_size: wnd, seq_nr: seq, ack_nr: ack,
            },
            sack: SelectiveAck::new(&mask),
            payload: &payload,
        };
        let bytes = encode(&p);
        prop_assert_eq!(Packet::decode(&bytes), Ok(p));
    }
}
