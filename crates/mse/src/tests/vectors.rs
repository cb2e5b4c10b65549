//! A handshake with fixed secrets and padding checked byte for byte against `vectors.py`,
//! which derives it with Python integers, hashlib and OpenSSL's RC4 rather than this crate.

use super::SKEY;
use crate::{Entropy, Initiator, Method, Methods, Policy, Progress, Receiver};

const A_FIRST: &str = "96e112dab29e8c5272accb9b17b26887ce54a144a4e3b697c7d159b7a817e556b0918db2b4c658e02a87f7e5fb14b18a553e084cbf3dad2d30f16596ccb982d406258c61b30c5c1dae2ddc60bdbd48d79896312aad63238c39e1a633821eb693aaaaaaaaaa";
const B_FIRST: &str = "a3e981e821087e74b889c5bfc373ec5be9ed09c85282b9cdb6b07dbaabe0ee5138a91e6245657219d1019ce47ed3613f037c6932a69069a3928b146b354e79cbfeaad601d12598943c43b5b5529915b2c604e43fd6f9ced4efbe68f9edfaeee7bbbbbb";
const A_THIRD: &str = "83c8d8a3d91a5bf40d723666c4258731c8427ccbd75eb362462aaf8e93738784f9377ddf35c27b6bfa3fe4c0a219f68dd00b4abef6fbcad588beda01fe43743305487c42";
const B_FOURTH: &str = "8c02a56c05c02b0ba39e781211e16865";
const A_PING: &str = "1a21bb83";
const B_PONG: &str = "c4d99bd4";

fn hex(s: &str) -> Vec<u8> {
    (0..s.len())
        .step_by(2)
        .map(|i| u8::from_str_radix(&s[i..i + 2], 16).unwrap())
        .collect()
}

#[test]
fn handshake_matches_independent_derivation() {
    let xa: [u8; 20] = std::array::from_fn(|i| i as u8 + 1);
    let xb: [u8; 20] = std::array::from_fn(|i| i as u8 + 21);
    let mut a = Initiator::new(
        SKEY,
        Methods::BOTH,
        b"hello IA",
        Entropy::fixed(xa, &[0xAA; 5], 4),
    );
    let policy = Policy {
        allowed: Methods::BOTH,
        prefer_rc4: true,
    };
    let lookup = Box::new(|h: &[u8; 20]| (*h == crate::req2(&SKEY)).then_some(SKEY));
    let mut b = Receiver::new(policy, lookup, Entropy::fixed(xb, &[0xBB; 3], 2));

    let first = a.take_output();
    assert_eq!(first, hex(A_FIRST));
    assert!(matches!(b.feed(&first), Ok(Progress::NeedMore)));
    let second = b.take_output();
    assert_eq!(second, hex(B_FIRST));
    assert!(matches!(a.feed(&second), Ok(Progress::NeedMore)));
    let third = a.take_output();
    assert_eq!(third, hex(A_THIRD));
    let Ok(Progress::Done(at_b)) = b.feed(&third) else {
        panic!("B not done")
    };
    let fourth = b.take_output();
    assert_eq!(fourth, hex(B_FOURTH));
    // B's first stream bytes arrive in the same read as its answer: they come back as
    // leftover, decrypted.
    let mut with_stream = fourth.clone();
    with_stream.extend_from_slice(&hex(B_PONG));
    let Ok(Progress::Done(at_a)) = a.feed(&with_stream) else {
        panic!("A not done")
    };
    assert_eq!((at_a.method, at_b.method), (Method::Rc4, Method::Rc4));
    assert_eq!(at_b.initial_payload, b"hello IA");
    assert_eq!(at_a.leftover, b"pong");
    let mut ping = *b"ping";
    at_a.ciphers.unwrap().send.apply(&mut ping);
    assert_eq!(ping.to_vec(), hex(A_PING));
}
