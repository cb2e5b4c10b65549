//! ut_holepunch (BEP 55) payloads: the byte layout of each message, the lenient and the
//! strict parts of decoding, and typed errors for what cannot be read.

use std::net::SocketAddr;

use shoal_wire::ext::{HolepunchErrorCode, HolepunchMsg};
use shoal_wire::WireError;

fn addr(s: &str) -> SocketAddr {
    s.parse().unwrap()
}

#[test]
fn rendezvous_v4_is_laid_out_as_bep_55_says() {
    let msg = HolepunchMsg::Rendezvous(addr("80.100.100.12:6881"));
    assert_eq!(
        &msg.encode()[..],
        &[0, 0, 80, 100, 100, 12, 0x1a, 0xe1, 0, 0, 0, 0][..]
    );
}

#[test]
fn error_v6_carries_its_code() {
    let msg = HolepunchMsg::Error {
        addr: addr("[2001:db8::1]:51413"),
        code: HolepunchErrorCode::NoSupport,
    };
    let bytes = msg.encode();
    assert_eq!(bytes.len(), 1 + 1 + 16 + 2 + 4);
    assert_eq!(bytes[0], 2);
    assert_eq!(bytes[1], 1);
    assert_eq!(&bytes[20..], &[0, 0, 0, 3]);
    assert_eq!(HolepunchMsg::decode(&bytes), Ok(msg));
}

#[test]
fn every_error_code_round_trips() {
    for code in [
        HolepunchErrorCode::NoSuchPeer,
        HolepunchErrorCode::NotConnected,
        HolepunchErrorCode::NoSupport,
        HolepunchErrorCode::NoSelf,
        HolepunchErrorCode::Other(77),
    ] {
        let msg = HolepunchMsg::Error {
            addr: addr("10.0.0.1:1"),
            code,
        };
        assert_eq!(HolepunchMsg::decode(&msg.encode()), Ok(msg));
    }
}

#[test]
fn connect_without_err_code_decodes_as_libtorrent_sends_it() {
    let payload = [1, 0, 192, 0, 2, 7, 0x1a, 0xe1];
    assert_eq!(
        HolepunchMsg::decode(&payload),
        Ok(HolepunchMsg::Connect(addr("192.0.2.7:6881")))
    );
}

#[test]
fn trailing_bytes_are_ignored() {
    let mut payload = HolepunchMsg::Connect(addr("192.0.2.7:6881"))
        .encode()
        .to_vec();
    payload.extend_from_slice(b"junk");
    assert_eq!(
        HolepunchMsg::decode(&payload),
        Ok(HolepunchMsg::Connect(addr("192.0.2.7:6881")))
    );
}

#[test]
fn short_or_odd_payloads_are_typed_errors() {
    let bad = |payload: &[u8]| match HolepunchMsg::decode(payload) {
        Err(WireError::BadHolepunch(_)) => {}
        other => panic!("{payload:?} decoded as {other:?}"),
    };
    bad(&[]);
    bad(&[0]);
    bad(&[0, 0, 1, 2, 3]);
    bad(&[0, 0, 1, 2, 3, 4, 5]);
    bad(&[0, 1, 1, 2, 3, 4, 5, 6, 7, 8]);
    bad(&[0, 2, 1, 2, 3, 4, 5, 6]);
    // An error needs its code.
    bad(&[2, 0, 1, 2, 3, 4, 5, 6, 0, 0]);
    assert_eq!(
        HolepunchMsg::decode(&[9, 0, 1, 2, 3, 4, 5, 6]),
        Err(WireError::UnknownHolepunchMsgType(9))
    );
}
