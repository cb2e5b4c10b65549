//! Property tests of the message codec: arbitrary messages round-trip, arbitrary bytes never
//! panic, and how the input is split into reads does not change what is decoded.

use bytes::{Bytes, BytesMut};
use proptest::prelude::*;
use shoal_wire::{BlockInfo, Decoder, Message};

fn arb_block() -> impl Strategy<Value = BlockInfo> {
    (any::<u32>(), any::<u32>(), any::<u32>()).prop_map(|(index, begin, length)| BlockInfo {
        index,
        begin,
        length,
    })
}

fn arb_bytes(max: usize) -> impl Strategy<Value = Bytes> {
    prop::collection::vec(any::<u8>(), 0..max).prop_map(Bytes::from)
}

fn arb_message() -> impl Strategy<Value = Message> {
    prop_oneof![
        Just(Message::KeepAlive),
        Just(Message::Choke),
        Just(Message::Unchoke),
        Just(Message::Interested),
        Just(Message::NotInterested),
        Just(Message::HaveAll),
        Just(Message::HaveNone),
        any::<u32>().prop_map(Message::Have),
        any::<u32>().prop_map(Message::Suggest),
        any::<u32>().prop_map(Message::AllowedFast),
        any::<u16>().prop_map(Message::Port),
        prop::collection::vec(any::<u8>(), 0..64).prop_map(|b| Message::Bitfield(b.into())),
        arb_block().prop_map(Message::Request),
        arb_block().prop_map(Message::Cancel),
        arb_block().prop_map(Message::Reject),
        (any::<u32>(), any::<u32>(), arb_bytes(300))
            .prop_map(|(index, begin, data)| Message::Piece { index, begin, data }),
        (any::<u8>(), arb_bytes(300)).prop_map(|(id, payload)| Message::Extended { id, payload }),
    ]
}

/// Decodes `stream` delivered in reads of the given sizes (cycled), collecting every message.
fn decode_in_chunks(stream: &[u8], chunk_sizes: &[usize]) -> Vec<Message> {
    let mut decoder = Decoder::default();
    let mut buf = BytesMut::new();
    let mut out = Vec::new();
    let mut rest = stream;
    let mut sizes = chunk_sizes.iter().cycle();
    while !rest.is_empty() {
        let take = sizes.next().copied().unwrap_or(1).clamp(1, rest.len());
        let (chunk, tail) = rest.split_at(take);
        buf.extend_from_slice(chunk);
        rest = tail;
        while let Some(msg) = decoder.decode(&mut buf).expect("valid stream") {
            out.push(msg);
        }
    }
    assert!(buf.is_empty());
    out
}

proptest! {
    #[test]
    fn messages_round_trip_however_the_stream_is_split(
        messages in prop::collection::vec(arb_message(), 0..20),
        chunk_sizes in prop::collection::vec(1usize..50, 1..10),
    ) {
        let mut stream = BytesMut::new();
        for msg in &messages {
            let before = stream.len();
            msg.encode(&mut stream);
            prop_assert_eq!(stream.len() - before, msg.encoded_len());
        }
        prop_assert_eq!(decode_in_chunks(&stream, &chunk_sizes), messages);
    }

    #[test]
    fn arbitrary_bytes_never_panic(bytes in prop::collection::vec(any::<u8>(), 0..2048), max in 0u32..4096) {
        let mut buf = BytesMut::from(&bytes[..]);
        let mut decoder = Decoder::new(max);
        // Each Ok(Some) consumes at least four bytes, so this loop ends.
        while let Ok(Some(_)) = decoder.decode(&mut buf) {}
    }

    #[test]
    fn plausible_frames_never_panic(
        frames in prop::collection::vec((0u32..40, any::<u8>(), prop::collection::vec(any::<u8>(), 0..40)), 0..20),
    ) {
        // Small lengths and real ids reach the per-message parsers more often than pure noise.
        let mut buf = BytesMut::new();
        for (len, id, body) in frames {
            buf.extend_from_slice(&len.to_be_bytes());
            buf.extend_from_slice(&[id % 22]);
            buf.extend_from_slice(&body);
        }
        let mut decoder = Decoder::default();
        while let Ok(Some(_)) = decoder.decode(&mut buf) {}
    }
}
