//! Hostile and broken peers: each gets its typed error, never a panic, and the searches give
//! up at the spec's bound.

use super::{deliver, entropy, receiver, SKEY};
use crate::{Initiator, Methods, MseError, Policy, Progress, Receiver, KEY_LEN};
use shoal_core::Rng;

const BOTH: Policy = Policy {
    allowed: Methods::BOTH,
    prefer_rc4: true,
};

fn noise(seed: u64, len: usize) -> Vec<u8> {
    let mut rng = Rng::new(seed);
    (0..len).map(|_| rng.next_u64() as u8).collect()
}

/// A valid public key (the initiator's), for tests that need B past the first step.
fn valid_key(seed: u64) -> Vec<u8> {
    Initiator::new(SKEY, Methods::BOTH, b"", entropy(seed)).take_output()[..KEY_LEN].to_vec()
}

/// The four messages of a good handshake, as `[first, second, third, fourth]`.
fn transcript(provide: Methods, policy: Policy) -> [Vec<u8>; 4] {
    let (mut a, mut b) = pair(provide, policy);
    let first = a.take_output();
    b.feed(&first).unwrap();
    let second = b.take_output();
    a.feed(&second).unwrap();
    let third = a.take_output();
    b.feed(&third).unwrap();
    let fourth = b.take_output();
    [first, second, third, fourth]
}

fn pair(provide: Methods, policy: Policy) -> (Initiator, Receiver) {
    let a = Initiator::new(SKEY, provide, b"ia", entropy(10));
    let b = receiver(policy, &[SKEY], 11);
    (a, b)
}

fn feed_all(feed: impl FnMut(&[u8]) -> Result<Progress, MseError>, bytes: &[u8]) -> MseError {
    match deliver(bytes, 1, feed) {
        Err(e) => e,
        Ok(done) => panic!("expected an error, got {done:?}"),
    }
}

#[test]
fn receiver_gives_up_on_garbage_after_padding_bound() {
    // A random "public key" is accepted (it is only a number), then no req1 hash follows.
    for chunk in [1, 100, 10_000] {
        let mut b = receiver(BOTH, &[SKEY], 1);
        let bytes = noise(1, KEY_LEN + 512 + 20);
        let err = deliver(&bytes, chunk, |x| b.feed(x)).unwrap_err();
        assert_eq!(err, MseError::SyncNotFound(532), "chunk {chunk}");
    }
    // One byte short of the bound is still waiting.
    let mut b = receiver(BOTH, &[SKEY], 1);
    let bytes = noise(1, KEY_LEN + 512 + 19);
    assert!(deliver(&bytes, 64, |x| b.feed(x)).unwrap().is_none());
}

#[test]
fn receiver_marker_never_arriving() {
    let mut b = receiver(BOTH, &[SKEY], 2);
    let mut bytes = valid_key(3);
    bytes.extend(vec![0u8; 4096]);
    assert_eq!(feed_all(|x| b.feed(x), &bytes), MseError::SyncNotFound(532));
}

#[test]
fn initiator_gives_up_on_garbage_after_padding_bound() {
    let mut a = Initiator::new(SKEY, Methods::BOTH, b"", entropy(4));
    let _ = a.take_output();
    let mut bytes = valid_key(5);
    bytes.extend(noise(6, 520));
    assert_eq!(feed_all(|x| a.feed(x), &bytes), MseError::SyncNotFound(520));
}

#[test]
fn public_keys_out_of_range_are_garbage() {
    for key in [[0u8; KEY_LEN], [0xFF; KEY_LEN]] {
        let mut b = receiver(BOTH, &[SKEY], 7);
        let err = b.feed(&key).unwrap_err();
        assert!(matches!(err, MseError::Garbage(_)), "{err}");
        let mut a = Initiator::new(SKEY, Methods::BOTH, b"", entropy(8));
        let err = a.feed(&key).unwrap_err();
        assert!(matches!(err, MseError::Garbage(_)), "{err}");
    }
}

#[test]
fn unknown_torrent() {
    let mut a = Initiator::new([9; 20], Methods::BOTH, b"", entropy(9));
    let mut b = receiver(BOTH, &[SKEY, [1; 20]], 10);
    b.feed(&a.take_output()).unwrap();
    a.feed(&b.take_output()).unwrap();
    assert_eq!(b.feed(&a.take_output()).unwrap_err(), MseError::UnknownSkey);
}

/// RC4 is malleable: flipping a ciphertext bit flips the same plaintext bit, which lets a
/// test change one field of an encrypted message.
fn flip(bytes: &[u8], at: usize, mask: u8) -> Vec<u8> {
    let mut out = bytes.to_vec();
    out[at] ^= mask;
    out
}

/// Offsets in A's third message: two hashes, then VC (8), provide (4), len(PadC) (2).
const THIRD_VC: usize = 40;
const THIRD_PROVIDE_LOW: usize = 51;
const THIRD_PADC_LEN: usize = 52;

fn receiver_error_for_third(third: &[u8], policy: Policy) -> MseError {
    let [first, ..] = transcript(Methods::BOTH, policy);
    let (_, mut b) = pair(Methods::BOTH, policy);
    b.feed(&first).unwrap();
    b.feed(third).unwrap_err()
}

#[test]
fn receiver_rejects_bad_fields() {
    let [_, _, third, _] = transcript(Methods::BOTH, BOTH);
    let err = receiver_error_for_third(&flip(&third, THIRD_VC + 3, 1), BOTH);
    assert!(
        matches!(err, MseError::Garbage(m) if m.contains("verification")),
        "{err}"
    );
    let err = receiver_error_for_third(&flip(&third, THIRD_PADC_LEN, 0x80), BOTH);
    assert!(
        matches!(err, MseError::Garbage(m) if m.contains("PadC")),
        "{err}"
    );
    // provide 0x03 -> 0x00: nothing offered.
    let err = receiver_error_for_third(&flip(&third, THIRD_PROVIDE_LOW, 0x03), BOTH);
    assert_eq!(err, MseError::NoCommonMethod { peer: 0, ours: 3 });
}

/// Offsets in B's answer: VC (8), select (4), len(PadD) (2).
const FOURTH_SELECT_LOW: usize = 11;
const FOURTH_PADD_LEN: usize = 12;

fn initiator_error_for_fourth(provide: Methods, fourth: &[u8]) -> MseError {
    let [_, second, ..] = transcript(provide, BOTH);
    let (mut a, _) = pair(provide, BOTH);
    let _ = a.take_output();
    a.feed(&second).unwrap();
    a.feed(fourth).unwrap_err()
}

#[test]
fn initiator_rejects_bad_fields() {
    let [.., fourth] = transcript(Methods::RC4, BOTH);
    // select 0x02 -> 0x03: two methods.
    let err = initiator_error_for_fourth(Methods::RC4, &flip(&fourth, FOURTH_SELECT_LOW, 0x01));
    assert!(
        matches!(err, MseError::Garbage(m) if m.contains("more than one")),
        "{err}"
    );
    // select 0x02 -> 0x01: plaintext, which A did not offer.
    let err = initiator_error_for_fourth(Methods::RC4, &flip(&fourth, FOURTH_SELECT_LOW, 0x03));
    assert_eq!(err, MseError::NoCommonMethod { peer: 1, ours: 2 });
    let err = initiator_error_for_fourth(Methods::RC4, &flip(&fourth, FOURTH_PADD_LEN, 0x80));
    assert!(
        matches!(err, MseError::Garbage(m) if m.contains("PadD")),
        "{err}"
    );
    // A VC that does not decrypt to zeros is not found: the search runs out.
    let mut bad_vc = flip(&fourth, 0, 1);
    bad_vc.extend(vec![0u8; 600]);
    let err = initiator_error_for_fourth(Methods::RC4, &bad_vc);
    assert_eq!(err, MseError::SyncNotFound(520));
}

/// Cut at every byte offset, the receiver waits (never errs, never panics) and then reports
/// the truncation; only the whole exchange completes.
#[test]
fn receiver_truncated_at_every_offset() {
    let [first, _, third, _] = transcript(Methods::BOTH, BOTH);
    let whole: Vec<u8> = [first, third].concat();
    for cut in 0..whole.len() {
        let (_, mut b) = pair(Methods::BOTH, BOTH);
        let progress = b.feed(&whole[..cut]).unwrap();
        assert!(matches!(progress, Progress::NeedMore), "cut {cut}");
        assert!(matches!(b.truncated(), MseError::Truncated(_)), "cut {cut}");
    }
    let (_, mut b) = pair(Methods::BOTH, BOTH);
    assert!(matches!(b.feed(&whole), Ok(Progress::Done(_))));
}

#[test]
fn initiator_truncated_at_every_offset() {
    let [_, second, _, fourth] = transcript(Methods::BOTH, BOTH);
    let whole: Vec<u8> = [second, fourth].concat();
    for cut in 0..whole.len() {
        let (mut a, _) = pair(Methods::BOTH, BOTH);
        let progress = a.feed(&whole[..cut]).unwrap();
        assert!(matches!(progress, Progress::NeedMore), "cut {cut}");
        assert!(matches!(a.truncated(), MseError::Truncated(_)), "cut {cut}");
    }
    let (mut a, _) = pair(Methods::BOTH, BOTH);
    assert!(matches!(a.feed(&whole), Ok(Progress::Done(_))));
}

#[test]
fn feeding_after_the_end_is_an_error_not_a_panic() {
    let [_, second, _, fourth] = transcript(Methods::BOTH, BOTH);
    let (mut a, _) = pair(Methods::BOTH, BOTH);
    assert!(matches!(
        a.feed(&[second, fourth].concat()),
        Ok(Progress::Done(_))
    ));
    assert!(a.feed(b"more").is_err());
}
