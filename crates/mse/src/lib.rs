//! Message Stream Encryption (MSE, also called Protocol Encryption): the obfuscated
//! handshake BitTorrent clients use to hide their traffic from line-rate classifiers, and
//! the RC4 stream that may follow it. There is no BEP; the reference is the Vuze wiki's
//! "Message Stream Encryption" page, and libtorrent, Transmission and aria2 agree on it.
//!
//! This crate is sans-IO: no sockets, no clock, no global randomness. Each side is a state
//! machine fed with the bytes the peer sent and polled for the bytes to send:
//!
//! * [`Initiator`] (side A, who dialed) knows the torrent (`SKEY`, its info-hash) and
//!   offers a set of [`Methods`];
//! * [`Receiver`] (side B) learns the torrent from the handshake through a lookup the caller
//!   supplies, and selects a [`Method`] by its [`Policy`].
//!
//! Either ends with an [`Outcome`]: the method, the two [`Rc4`] ciphers when the stream is
//! encrypted, the initiator's initial payload (IA, usually its BitTorrent handshake), and
//! stream bytes already read. The caller bounds the handshake in time; a connection that
//! ends early gets the side's `truncated()` error. Randomness (the Diffie-Hellman secret,
//! the padding) comes in an [`Entropy`] the caller draws.
//!
//! Memory is bounded: the sync searches give up after the 512 bytes of padding the spec
//! allows plus the marker, padding fields longer than 512 are refused, and the buffered input
//! is at most one handshake (IA included, at most 65,535 bytes) plus the caller's last read.
//!
//! ```
//! use shoal_mse::{Entropy, Initiator, Method, Methods, Policy, Progress, Receiver};
//!
//! let info_hash = [7u8; 20];
//! let entropy = |seed: u8| Entropy::fixed([seed; 20], &[seed; 16], 8);
//! let mut a = Initiator::new(info_hash, Methods::BOTH, b"IA", entropy(1));
//! let policy = Policy { allowed: Methods::RC4, prefer_rc4: true };
//! let req2 = shoal_mse::req2(&info_hash);
//! let lookup = Box::new(move |h: &[u8; 20]| (*h == req2).then_some(info_hash));
//! let mut b = Receiver::new(policy, lookup, entropy(2));
//!
//! // Ya -> B; Yb -> A; A's third message -> B; B's answer -> A.
//! assert!(matches!(b.feed(&a.take_output()), Ok(Progress::NeedMore)));
//! assert!(matches!(a.feed(&b.take_output()), Ok(Progress::NeedMore)));
//! let Ok(Progress::Done(at_b)) = b.feed(&a.take_output()) else { panic!() };
//! let Ok(Progress::Done(at_a)) = a.feed(&b.take_output()) else { panic!() };
//! assert_eq!((at_a.method, at_b.method), (Method::Rc4, Method::Rc4));
//! assert_eq!(at_b.initial_payload, b"IA");
//!
//! let (mut a_c, mut b_c) = (at_a.ciphers.unwrap(), at_b.ciphers.unwrap());
//! let mut msg = *b"hello";
//! a_c.send.apply(&mut msg);
//! b_c.recv.apply(&mut msg);
//! assert_eq!(&msg, b"hello");
//! ```

#![forbid(unsafe_code)]
#![warn(missing_docs, unreachable_pub)]

mod dh;
mod error;
pub mod initiator;
mod input;
mod method;
mod outcome;
mod rc4;
pub mod receiver;

#[cfg(test)]
mod tests;

pub use dh::{req2, KEY_LEN};
pub use error::MseError;
pub use initiator::Initiator;
pub use method::{Entropy, Method, Methods, Policy, MAX_PAD};
pub use outcome::{Ciphers, Outcome, Progress};
pub use rc4::Rc4;
pub use receiver::{Receiver, SkeyLookup};

/// Bytes of the verification constant VC (eight zeros, encrypted).
pub const VC_LEN: usize = 8;

/// The most bytes an initiator's part of the handshake can take before its stream begins:
/// `Ya`, PadA, the two hashes, VC, `crypto_provide`, PadC with its length, and IA with its
/// length. A receiver that has buffered more than this without finishing is talking to
/// something else.
pub const MAX_HANDSHAKE: usize =
    KEY_LEN + MAX_PAD + 20 + 20 + VC_LEN + 4 + 2 + MAX_PAD + 2 + u16::MAX as usize;

/// Whether the first bytes of an incoming connection are a plaintext BitTorrent handshake
/// (`\x13BitTorrent protocol`) rather than the start of an MSE one. Needs up to 20 bytes;
/// `None` until it can tell.
pub fn is_plaintext_handshake(first: &[u8]) -> Option<bool> {
    const PROTOCOL: &[u8; 20] = b"\x13BitTorrent protocol";
    let n = first.len().min(PROTOCOL.len());
    if first[..n] != PROTOCOL[..n] {
        return Some(false);
    }
    (n == PROTOCOL.len()).then_some(true)
}
