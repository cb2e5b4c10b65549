//! Any bytes as a uTP packet (BEP 29): a typed error or a packet that encodes to bytes
//! that decode to the same packet (unknown extensions and second SACKs dropped), no
//! longer than the input; and the first-byte test that tells uTP from the DHT agrees.
#![no_main]
use libfuzzer_sys::fuzz_target;
use shoal_utp::packet::{looks_like_utp, Packet, HEADER_LEN};

fuzz_target!(|data: &[u8]| {
    let Ok(packet) = Packet::decode(data) else {
        return;
    };
    assert!(looks_like_utp(data));
    let len = packet.encoded_len();
    assert!(len <= data.len());
    let mut out = vec![0u8; len];
    assert_eq!(packet.encode(&mut out), Ok(len));
    assert_eq!(Packet::decode(&out), Ok(packet));
    assert!(out.len() >= HEADER_LEN);
    assert!(packet.encode(&mut out[..len - 1]).is_err());
});
