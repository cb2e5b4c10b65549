//! Any byte stream from a peer: the handshake, message and extension decoders return
//! messages or an error, never panic, and never buffer past the message limit; every
//! message and extension payload that decodes encodes to something that decodes the same.
#![no_main]
use bytes::{Bytes, BytesMut};
use libfuzzer_sys::fuzz_target;
use shoal_wire::ext::{ExtHandshake, HolepunchMsg, MetadataMsg, PexMsg};
use shoal_wire::{Decoder, Handshake, Message};

/// The BEP 10 payloads (extended handshake, ut_metadata, ut_pex, ut_holepunch): whichever
/// decodes round-trips.
fn extension_payloads(payload: &Bytes) {
    if let Ok(hs) = ExtHandshake::decode(payload) {
        assert_eq!(ExtHandshake::decode(&hs.encode()).as_ref(), Ok(&hs));
    }
    if let Ok(msg) = MetadataMsg::decode(payload) {
        assert_eq!(MetadataMsg::decode(&msg.encode()).as_ref(), Ok(&msg));
    }
    if let Ok(pex) = PexMsg::decode(payload) {
        assert_eq!(PexMsg::decode(&pex.encode()).as_ref(), Ok(&pex));
    }
    if let Ok(msg) = HolepunchMsg::decode(payload) {
        assert_eq!(HolepunchMsg::decode(&msg.encode()), Ok(msg));
    }
}

fuzz_target!(|data: &[u8]| {
    if let Ok(hs) = Handshake::decode(data) {
        assert_eq!(Handshake::decode(&hs.encode()).as_ref(), Ok(&hs));
    }
    extension_payloads(&Bytes::copy_from_slice(data));
    let mut decoder = Decoder::default();
    let mut buf = BytesMut::from(data);
    while let Ok(Some(msg)) = decoder.decode(&mut buf) {
        let mut encoded = BytesMut::new();
        msg.encode(&mut encoded);
        assert_eq!(encoded.len(), msg.encoded_len());
        assert_eq!(Decoder::default().decode(&mut encoded), Ok(Some(msg.clone())));
        assert!(encoded.is_empty());
        if let Message::Extended { payload, .. } = msg {
            extension_payloads(&payload);
        }
    }
});
