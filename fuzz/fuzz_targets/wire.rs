//! Any byte stream from a peer: the handshake, message and extension decoders return
//! messages or an error, never panic, and never buffer past the message limit.
#![no_main]
use bytes::{Bytes, BytesMut};
use libfuzzer_sys::fuzz_target;
use shoal_wire::ext::{ExtHandshake, MetadataMsg, PexMsg};
use shoal_wire::{Decoder, Handshake, Message};

fuzz_target!(|data: &[u8]| {
    let _ = Handshake::decode(data);
    let _ = ExtHandshake::decode(data);
    let _ = MetadataMsg::decode(&Bytes::copy_from_slice(data));
    let _ = PexMsg::decode(data);
    let mut decoder = Decoder::default();
    let mut buf = BytesMut::from(data);
    while let Ok(Some(msg)) = decoder.decode(&mut buf) {
        if let Message::Extended { payload, .. } = msg {
            let _ = ExtHandshake::decode(&payload);
        }
    }
});
