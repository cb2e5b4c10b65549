//! Properties over random secrets, padding, initial payloads and read sizes.

use super::{deliver, entropy, receiver, run, SKEY};
use crate::{Initiator, Method, Methods, Policy, Progress};
use proptest::prelude::*;

fn methods() -> impl Strategy<Value = Methods> {
    prop_oneof![
        Just(Methods::PLAINTEXT),
        Just(Methods::RC4),
        Just(Methods::BOTH)
    ]
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(64))]

    /// Any secrets, padding, IA and read size: both sides agree on the method the policy
    /// picks, B gets IA, and the streams decrypt.
    #[test]
    fn handshakes_agree(
        seed in any::<u64>(),
        provide in methods(),
        allowed in methods(),
        prefer_rc4 in any::<bool>(),
        ia in proptest::collection::vec(any::<u8>(), 0..300),
        chunk in 1usize..800,
    ) {
        let policy = Policy { allowed, prefer_rc4 };
        let r = run(provide, policy, &ia, seed, chunk);
        match policy.select(provide.bits()) {
            Some(method) => {
                let (a, b) = (r.a.unwrap(), r.b.unwrap());
                prop_assert_eq!(a.method, method);
                prop_assert_eq!(b.method, method);
                prop_assert_eq!(&b.initial_payload, &ia);
                if method == Method::Rc4 {
                    let (mut ca, mut cb) = (a.ciphers.unwrap(), b.ciphers.unwrap());
                    let mut data = ia.clone();
                    ca.send.apply(&mut data);
                    cb.recv.apply(&mut data);
                    prop_assert_eq!(&data, &ia);
                }
            }
            None => prop_assert!(r.b.is_err() && r.a.is_err()),
        }
    }

    /// Arbitrary bytes to a receiver: an error or waiting, never a panic.
    #[test]
    fn receiver_survives_anything(bytes in proptest::collection::vec(any::<u8>(), 0..2000), chunk in 1usize..700) {
        let mut b = receiver(Policy { allowed: Methods::BOTH, prefer_rc4: false }, &[SKEY], 1);
        let _ = deliver(&bytes, chunk, |x| b.feed(x));
    }

    /// Arbitrary bytes to an initiator after its first message.
    #[test]
    fn initiator_survives_anything(bytes in proptest::collection::vec(any::<u8>(), 0..2000), chunk in 1usize..700) {
        let mut a = Initiator::new(SKEY, Methods::BOTH, b"", entropy(2));
        let _ = a.take_output();
        let _ = deliver(&bytes, chunk, |x| a.feed(x));
    }

    /// A peer's stream bytes that arrive in the same read as the end of its handshake come
    /// back decrypted as leftover, whatever the split.
    #[test]
    fn leftover_is_decrypted(seed in any::<u64>(), tail in proptest::collection::vec(any::<u8>(), 1..100)) {
        let mut a = Initiator::new(SKEY, Methods::RC4, b"", entropy(seed));
        let mut b = receiver(Policy { allowed: Methods::BOTH, prefer_rc4: false }, &[SKEY], seed ^ 1);
        b.feed(&a.take_output()).unwrap();
        a.feed(&b.take_output()).unwrap();
        let Ok(Progress::Done(at_b)) = b.feed(&a.take_output()) else { panic!("B not done") };
        let mut stream = tail.clone();
        at_b.ciphers.unwrap().send.apply(&mut stream);
        let mut bytes = b.take_output();
        bytes.extend_from_slice(&stream);
        let Ok(Progress::Done(at_a)) = a.feed(&bytes) else { panic!("A not done") };
        prop_assert_eq!(at_a.leftover, tail);
    }
}
