//! Tests of both sides together, in memory: every method combination, fixed vectors derived
//! independently (`vectors.py`), hostile input, and properties over random choices.

mod hostile;
mod pair;
mod prop;
mod vectors;

use crate::{Entropy, Initiator, Methods, MseError, Outcome, Policy, Progress, Receiver};
use shoal_core::Rng;

pub(crate) const SKEY: [u8; 20] = [0x42; 20];

pub(crate) fn entropy(seed: u64) -> Entropy {
    let mut rng = Rng::new(seed);
    Entropy::draw(|buf| buf.iter_mut().for_each(|b| *b = rng.next_u64() as u8))
}

/// A receiver that runs the torrents `skeys`.
pub(crate) fn receiver(policy: Policy, skeys: &[[u8; 20]], seed: u64) -> Receiver {
    let table: Vec<([u8; 20], [u8; 20])> = skeys.iter().map(|k| (crate::req2(k), *k)).collect();
    let lookup = move |h: &[u8; 20]| table.iter().find(|(r, _)| r == h).map(|(_, k)| *k);
    Receiver::new(policy, Box::new(lookup), entropy(seed))
}

/// Bytes sent by one side, delivered to the other in pieces of `chunk` bytes.
pub(crate) fn deliver<F>(
    bytes: &[u8],
    chunk: usize,
    mut feed: F,
) -> Result<Option<Outcome>, MseError>
where
    F: FnMut(&[u8]) -> Result<Progress, MseError>,
{
    let mut done = None;
    for piece in bytes.chunks(chunk.max(1)) {
        if let Progress::Done(outcome) = feed(piece)? {
            assert!(done.is_none(), "done twice");
            done = Some(*outcome);
        }
    }
    Ok(done)
}

/// Both sides' results of one handshake.
pub(crate) struct Run {
    pub a: Result<Outcome, MseError>,
    pub b: Result<Outcome, MseError>,
}

pub(crate) fn run(provide: Methods, policy: Policy, ia: &[u8], seed: u64, chunk: usize) -> Run {
    let mut a = Initiator::new(SKEY, provide, ia, entropy(seed));
    let mut b = receiver(policy, &[[1; 20], SKEY, [2; 20]], seed.wrapping_add(1));
    // 1: Ya -> B; 2: Yb -> A; 3: A's third message -> B; 4: B's answer -> A.
    let mut at_b = deliver(&a.take_output(), chunk, |x| b.feed(x));
    let mut at_a = deliver(&b.take_output(), chunk, |x| a.feed(x));
    if let Ok(None) = at_b {
        at_b = deliver(&a.take_output(), chunk, |x| b.feed(x));
    }
    if let Ok(None) = at_a {
        // If B failed it sent nothing more and closed: A sees the end.
        at_a = deliver(&b.take_output(), chunk, |x| a.feed(x));
    }
    let finish = |r: Result<Option<Outcome>, MseError>, eof: MseError| r.and_then(|o| o.ok_or(eof));
    let (eof_a, eof_b) = (a.truncated(), b.truncated());
    Run {
        a: finish(at_a, eof_a),
        b: finish(at_b, eof_b),
    }
}
