//! Any bytes as what a receiver answers our MSE initiator, after the initiator's first
//! message. The first byte picks how the reads are split and whether the rest is raw bytes
//! (bit 0 clear) or an XOR mask over an honest receiver's answer (bit 0 set: zeros replay a
//! good handshake, so the fuzzer reaches the encrypted fields). Checked: no panic, the
//! outcome is the same however the bytes are split, the initiator sends only its third
//! message, and a selected method is one it offered.
#![no_main]
use libfuzzer_sys::fuzz_target;
use shoal_mse::{Entropy, Initiator, Method, Methods, Policy, Progress, Receiver, MAX_PAD};
use std::sync::OnceLock;

const SKEY: [u8; 20] = [0x42; 20];
const IA: &[u8] = b"\x13BitTorrent protocol";

fn initiator() -> Initiator {
    let mut a = Initiator::new(
        SKEY,
        Methods::RC4,
        IA,
        Entropy::fixed([1; 20], &[0xAA; 5], 4),
    );
    let _ = a.take_output();
    a
}

/// An honest receiver's bytes (its Yb, PadB and answer) for the initiator above.
fn honest() -> &'static [u8] {
    static BYTES: OnceLock<Vec<u8>> = OnceLock::new();
    BYTES.get_or_init(|| {
        let mut a = Initiator::new(
            SKEY,
            Methods::RC4,
            IA,
            Entropy::fixed([1; 20], &[0xAA; 5], 4),
        );
        let policy = Policy {
            allowed: Methods::BOTH,
            prefer_rc4: false,
        };
        let lookup = Box::new(|_: &[u8; 20]| Some(SKEY));
        let mut b = Receiver::new(policy, lookup, Entropy::fixed([2; 20], &[0xBB; 7], 3));
        b.feed(&a.take_output()).unwrap();
        let mut bytes = b.take_output();
        a.feed(&bytes).unwrap();
        b.feed(&a.take_output()).unwrap();
        bytes.extend(b.take_output());
        bytes
    })
}

type Summary = Result<Option<(Method, Vec<u8>)>, shoal_mse::MseError>;

fn run(bytes: &[u8], sizes: &[usize]) -> Summary {
    let mut a = initiator();
    let mut rest = bytes;
    let mut sent = 0;
    for &size in sizes.iter().cycle() {
        if rest.is_empty() {
            break;
        }
        let (piece, tail) = rest.split_at(size.min(rest.len()));
        rest = tail;
        let progress = a.feed(piece);
        sent += a.take_output().len();
        // Two hashes, VC, provide, len(PadC), PadC, len(IA), IA.
        assert!(sent <= 20 + 20 + 8 + 4 + 2 + MAX_PAD + 2 + IA.len());
        if let Progress::Done(o) = progress? {
            assert_eq!(o.method, Method::Rc4, "only RC4 was offered");
            assert!(o.ciphers.is_some());
            // The bytes not fed yet are still as sent: decrypt them to compare.
            let mut tail = rest.to_vec();
            if let Some(mut c) = o.ciphers {
                c.recv.apply(&mut tail);
            }
            let mut leftover = o.leftover;
            leftover.extend_from_slice(&tail);
            return Ok(Some((o.method, leftover)));
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
