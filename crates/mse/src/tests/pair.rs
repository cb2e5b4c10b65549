//! Every combination of what A provides and what B allows and prefers.

use super::{run, SKEY};
use crate::{Method, Methods, MseError, Policy};

const ALL: [Methods; 3] = [Methods::PLAINTEXT, Methods::RC4, Methods::BOTH];

#[test]
fn every_method_combination() {
    for (i, provide) in ALL.into_iter().enumerate() {
        for allowed in ALL {
            for prefer_rc4 in [false, true] {
                let policy = Policy {
                    allowed,
                    prefer_rc4,
                };
                let expected = policy.select(provide.bits());
                let r = run(provide, policy, b"\x13BitTorrent protocol", i as u64, 7);
                let case = format!("provide {provide:?}, {policy:?}");
                match expected {
                    Some(method) => {
                        let (a, b) = (r.a.expect(&case), r.b.expect(&case));
                        assert_eq!((a.method, b.method), (method, method), "{case}");
                        assert_eq!(b.skey, SKEY);
                        assert_eq!(b.initial_payload, b"\x13BitTorrent protocol");
                        assert!(a.leftover.is_empty() && b.leftover.is_empty());
                        assert_eq!(a.ciphers.is_some(), method == Method::Rc4, "{case}");
                        assert_eq!(b.ciphers.is_some(), method == Method::Rc4, "{case}");
                        if let (Some(mut ca), Some(mut cb)) = (a.ciphers, b.ciphers) {
                            let mut msg = b"stream from A".to_vec();
                            ca.send.apply(&mut msg);
                            cb.recv.apply(&mut msg);
                            assert_eq!(msg, b"stream from A");
                            let mut msg = b"stream from B".to_vec();
                            cb.send.apply(&mut msg);
                            ca.recv.apply(&mut msg);
                            assert_eq!(msg, b"stream from B");
                        }
                    }
                    None => {
                        assert!(
                            matches!(r.b, Err(MseError::NoCommonMethod { .. })),
                            "{case}: {:?}",
                            r.b.err()
                        );
                        assert!(matches!(r.a, Err(MseError::Truncated(_))), "{case}");
                    }
                }
            }
        }
    }
}

/// libtorrent's default (`prefer_rc4` off): offered both, the receiver picks plaintext.
#[test]
fn both_offered_picks_plaintext_unless_rc4_preferred() {
    let both = |prefer_rc4| Policy {
        allowed: Methods::BOTH,
        prefer_rc4,
    };
    assert_eq!(both(false).select(0x03), Some(Method::Plaintext));
    assert_eq!(both(true).select(0x03), Some(Method::Rc4));
    // Unknown bits from a future method are ignored.
    assert_eq!(both(false).select(0xF2), Some(Method::Rc4));
    assert_eq!(both(false).select(0xF0), None);
}

#[test]
fn any_chunking_gives_the_same_outcome() {
    let policy = Policy {
        allowed: Methods::BOTH,
        prefer_rc4: true,
    };
    for chunk in [1, 2, 19, 20, 21, 96, 97, 500, 4096] {
        let r = run(Methods::BOTH, policy, b"ia", 42, chunk);
        assert_eq!(r.a.unwrap().method, Method::Rc4, "chunk {chunk}");
        assert_eq!(r.b.unwrap().initial_payload, b"ia", "chunk {chunk}");
    }
}
