//! Any bytes as what an initiator sends to our MSE receiver. The first byte picks how the
//! reads are split and whether the rest is raw bytes (bit 0 clear) or an XOR mask over an
//! honest initiator's bytes (bit 0 set: zeros replay a good handshake, so the fuzzer reaches
//! the encrypted fields behind the hashes it could never guess). Checked: no panic, the
//! outcome is the same however the bytes are split, and what the receiver sends stays
//! within the handshake's size.
#![no_main]
use libfuzzer_sys::fuzz_target;
use shoal_mse::{Entropy, Initiator, Method, Methods, Policy, Progress, Receiver, MAX_PAD};
use std::sync::OnceLock;

const SKEY: [u8; 20] = [0x42; 20];

fn receiver() -> Receiver {
    let req2 = shoal_mse::req2(&SKEY);
    let policy = Policy {
        allowed: Methods::BOTH,
        prefer_rc4: true,
    };
    let lookup = Box::new(move |h: &[u8; 20]| (*h == req2).then_some(SKEY));
    Receiver::new(policy, lookup, Entropy::fixed([2; 20], &[0xBB; 7], 3))
}

/// An honest initiator's bytes (its first and third messages) for the receiver above.
fn honest() -> &'static [u8] {
    static BYTES: OnceLock<Vec<u8>> = OnceLock::new();
    BYTES.get_or_init(|| {
        let mut a = Initiator::new(
            SKEY,
            Methods::BOTH,
            b"IA",
            Entropy::fixed([1; 20], &[0xAA; 5], 4),
        );
        let mut b = receiver();
        let mut bytes = a.take_output();
        b.feed(&bytes).unwrap();
        a.feed(&b.take_output()).unwrap();
        bytes.extend(a.take_output());
        bytes
    })
}

/// The outcome in a comparable form: the method, IA and leftover, or the error.
type Summary = Result<Option<(Method, Vec<u8>, Vec<u8>)>, shoal_mse::MseError>;

fn run(bytes: &[u8], sizes: &[usize]) -> Summary {
    let mut b = receiver();
    let mut rest = bytes;
    let mut sent = 0;
    for &size in sizes.iter().cycle() {
        if rest.is_empty() {
            break;
        }
        let (piece, tail) = rest.split_at(size.min(rest.len()));
        rest = tail;
        let progress = b.feed(piece);
        sent += b.take_output().len();
        // Yb and PadB, then VC, select, len(PadD) and PadD.
        assert!(sent <= 96 + MAX_PAD + 8 + 4 + 2 + MAX_PAD);
        if let Progress::Done(o) = progress? {
            // The bytes not fed yet are still as sent: decrypt them to compare.
            let mut tail = rest.to_vec();
            if let Some(mut c) = o.ciphers {
                c.recv.apply(&mut tail);
            }
            let mut leftover = o.leftover;
            leftover.extend_from_slice(&tail);
            return Ok(Some((o.method, o.initial_payload, leftover)));
        }
    }
    Ok(None)
}

fuzz_target!(|data: &[u8]| {
    let Some((&mode, rest)) = data.split_first() else {
        return;
    };
    let bytes: Vec<u8> = if mode & 1 == 1 {
        let honest = honest();
        let len = honest.len().max(rest.len());
        (0..len)
            .map(|i| honest.get(i).copied().unwrap_or(0) ^ rest.get(i).copied().unwrap_or(0))
            .collect()
    } else {
        rest.to_vec()
    };
    let whole = run(&bytes, &[usize::MAX]);
    let sizes = [
        1 + usize::from(mode >> 1 & 0x3),
        1 + usize::from(mode >> 3 & 0x7) * 13,
        1 + usize::from(mode >> 6) * 97,
    ];
    assert_eq!(run(&bytes, &sizes), whole);
});
