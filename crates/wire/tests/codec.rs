//! Message framing: exact wire bytes, round trips, partial input, strictness and zero-copy.

use bytes::{Bytes, BytesMut};
use shoal_wire::{BlockInfo, Decoder, Message, WireError, MAX_MESSAGE_LEN};

fn block(index: u32, begin: u32, length: u32) -> BlockInfo {
    BlockInfo {
        index,
        begin,
        length,
    }
}

/// One of every message kind.
fn every_message() -> Vec<Message> {
    vec![
        Message::KeepAlive,
        Message::Choke,
        Message::Unchoke,
        Message::Interested,
        Message::NotInterested,
        Message::Have(7),
        Message::Bitfield(Bytes::from_static(&[0b1010_0000, 0xFF])),
        Message::Request(block(1, 16384, 16384)),
        Message::Piece {
            index: 3,
            begin: 32768,
            data: Bytes::from(vec![0x5A; 16384]),
        },
        Message::Cancel(block(1, 0, 16384)),
        Message::Port(6881),
        Message::Suggest(9),
        Message::HaveAll,
        Message::HaveNone,
        Message::Reject(block(2, 0, 1000)),
        Message::AllowedFast(u32::MAX),
        Message::Extended {
            id: 0,
            payload: Bytes::from_static(b"d1:md11:ut_metadatai1eee"),
        },
        Message::Extended {
            id: 3,
            payload: Bytes::new(),
        },
    ]
}

fn encode(msg: &Message) -> Vec<u8> {
    let mut dst = BytesMut::new();
    msg.encode(&mut dst);
    dst.to_vec()
}

fn decode_all(bytes: &[u8]) -> Result<Vec<Message>, WireError> {
    let mut buf = BytesMut::from(bytes);
    let mut decoder = Decoder::default();
    let mut out = Vec::new();
    while let Some(msg) = decoder.decode(&mut buf)? {
        out.push(msg);
    }
    assert!(buf.is_empty(), "{} bytes left over", buf.len());
    Ok(out)
}

#[test]
fn known_messages_have_the_bep3_bytes() {
    assert_eq!(encode(&Message::KeepAlive), [0, 0, 0, 0]);
    assert_eq!(encode(&Message::Choke), [0, 0, 0, 1, 0]);
    assert_eq!(encode(&Message::Interested), [0, 0, 0, 1, 2]);
    assert_eq!(
        encode(&Message::Have(0x0102_0304)),
        [0, 0, 0, 5, 4, 1, 2, 3, 4]
    );
    assert_eq!(
        encode(&Message::Request(block(1, 0x4000, 0x4000))),
        [0, 0, 0, 13, 6, 0, 0, 0, 1, 0, 0, 0x40, 0, 0, 0, 0x40, 0]
    );
    assert_eq!(
        encode(&Message::Piece {
            index: 2,
            begin: 0x10,
            data: Bytes::from_static(b"abc"),
        }),
        [0, 0, 0, 12, 7, 0, 0, 0, 2, 0, 0, 0, 0x10, b'a', b'b', b'c']
    );
    assert_eq!(encode(&Message::Port(6881)), [0, 0, 0, 3, 9, 0x1A, 0xE1]);
    assert_eq!(encode(&Message::HaveAll), [0, 0, 0, 1, 0x0E]);
    assert_eq!(
        encode(&Message::Reject(block(0, 0, 1))),
        [0, 0, 0, 13, 0x10, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1]
    );
    assert_eq!(
        encode(&Message::Extended {
            id: 0,
            payload: Bytes::from_static(b"de"),
        }),
        [0, 0, 0, 4, 20, 0, b'd', b'e']
    );
}

#[test]
fn every_message_round_trips_and_reports_its_length() {
    for msg in every_message() {
        let bytes = encode(&msg);
        assert_eq!(bytes.len(), msg.encoded_len(), "{msg:?}");
        assert_eq!(decode_all(&bytes), Ok(vec![msg.clone()]), "{msg:?}");
    }
}

#[test]
fn piece_header_matches_the_encoded_piece() {
    let msg = Message::Piece {
        index: 5,
        begin: 16384,
        data: Bytes::from(vec![1; 1000]),
    };
    let bytes = encode(&msg);
    assert_eq!(Message::piece_header(5, 16384, 1000), bytes[..13]);
}

#[test]
fn byte_by_byte_feeding_yields_the_same_messages() {
    let messages = every_message();
    let stream: Vec<u8> = messages.iter().flat_map(encode).collect();
    let mut buf = BytesMut::new();
    let mut decoder = Decoder::default();
    let mut out = Vec::new();
    for &byte in &stream {
        buf.extend_from_slice(&[byte]);
        while let Some(msg) = decoder.decode(&mut buf).unwrap() {
            out.push(msg);
        }
    }
    assert_eq!(out, messages);
    assert!(buf.is_empty());
}

#[test]
fn incomplete_message_is_left_in_the_buffer() {
    let bytes = encode(&Message::Have(1));
    let mut buf = BytesMut::from(&bytes[..6]);
    assert_eq!(Decoder::default().decode(&mut buf), Ok(None));
    assert_eq!(&buf[..], &bytes[..6]);
}

#[test]
fn wrong_length_for_a_fixed_size_id_is_an_error() {
    // Have with a 3-byte index.
    assert_eq!(
        decode_all(&[0, 0, 0, 4, 4, 0, 0, 1]),
        Err(WireError::BadLength { id: 4, len: 4 })
    );
    // Choke with a payload byte.
    assert_eq!(
        decode_all(&[0, 0, 0, 2, 0, 0]),
        Err(WireError::BadLength { id: 0, len: 2 })
    );
    // Piece without its begin field; Extended without its id.
    assert!(decode_all(&[0, 0, 0, 5, 7, 0, 0, 0, 0]).is_err());
    assert!(decode_all(&[0, 0, 0, 1, 20]).is_err());
}

#[test]
fn bad_length_is_reported_before_the_body_arrives() {
    // A Request claiming 100 bytes: only the prefix and id have arrived.
    let mut buf = BytesMut::from(&[0u8, 0, 0, 100, 6][..]);
    assert_eq!(
        Decoder::default().decode(&mut buf),
        Err(WireError::BadLength { id: 6, len: 100 })
    );
}

#[test]
fn unknown_id_is_an_error() {
    assert_eq!(
        decode_all(&[0, 0, 0, 1, 21]),
        Err(WireError::UnknownMessageId(21))
    );
    assert_eq!(
        decode_all(&[0, 0, 0, 1, 0x0A]),
        Err(WireError::UnknownMessageId(0x0A))
    );
}

#[test]
fn too_long_is_an_error_from_the_prefix_alone() {
    let mut buf = BytesMut::from(&[0xFFu8, 0xFF, 0xFF, 0xFF][..]);
    let err = Decoder::default().decode(&mut buf).unwrap_err();
    assert_eq!(
        err,
        WireError::MessageTooLong {
            len: u32::MAX,
            max: MAX_MESSAGE_LEN
        }
    );
    // A custom limit applies to id + payload.
    let piece = encode(&Message::Piece {
        index: 0,
        begin: 0,
        data: Bytes::from(vec![0; 100]),
    });
    let mut buf = BytesMut::from(&piece[..]);
    assert!(Decoder::new(108).decode(&mut buf).is_err());
    let mut buf = BytesMut::from(&piece[..]);
    assert!(Decoder::new(109).decode(&mut buf).unwrap().is_some());
}

#[test]
fn bitfield_of_a_huge_torrent_fits_the_default_limit() {
    let bits = Bytes::from(vec![0xFF; 1 << 20]);
    let msg = Message::Bitfield(bits);
    assert_eq!(decode_all(&encode(&msg)), Ok(vec![msg]));
}

#[test]
fn piece_data_is_not_copied() {
    let bytes = encode(&Message::Piece {
        index: 1,
        begin: 0,
        data: Bytes::from(vec![7; 16384]),
    });
    let mut buf = BytesMut::with_capacity(bytes.len() + 100);
    buf.extend_from_slice(&bytes);
    buf.extend_from_slice(&[0, 0, 0, 1, 1]); // an Unchoke after it
    let start = buf.as_ptr() as usize;
    let end = start + buf.len();
    let mut decoder = Decoder::default();
    let Some(Message::Piece { data, .. }) = decoder.decode(&mut buf).unwrap() else {
        panic!("expected a piece");
    };
    let data_start = data.as_ptr() as usize;
    assert_eq!(
        data_start,
        start + 13,
        "data must point into the receive buffer"
    );
    assert!(data_start + data.len() <= end);
    assert_eq!(decoder.decode(&mut buf), Ok(Some(Message::Unchoke)));
}
