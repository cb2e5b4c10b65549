//! Side A, the one that dialed:
//!
//! ```text
//! A -> B  Ya, PadA
//! B -> A  Yb, PadB
//! A -> B  HASH('req1', S), HASH('req2', SKEY) xor HASH('req3', S),
//!         ENCRYPT(VC, crypto_provide, len(PadC), PadC, len(IA)), ENCRYPT(IA)
//! B -> A  ENCRYPT(VC, crypto_select, len(PadD), PadD), then the stream
//! ```
//!
//! A finds the end of PadB by searching for `ENCRYPT(VC)`, eight bytes of B's keystream,
//! within the 512 + 8 bytes that may follow `Yb`.

use crate::dh::{self, KeyPair, KEY_LEN};
use crate::input::{find, u16_at, u32_at, Input};
use crate::outcome::{Ciphers, Outcome, Progress};
use crate::{Entropy, Method, Methods, MseError, Rc4, MAX_PAD, VC_LEN};

/// Bytes of `ENCRYPT(VC)` and of the padding before it that A searches.
const VC_WINDOW: usize = MAX_PAD + VC_LEN;

/// The initiator's state machine. Create it, send [`Initiator::take_output`], then
/// [`Initiator::feed`] what the peer sends, sending the output after each call, until
/// [`Progress::Done`].
pub struct Initiator {
    keys: KeyPair,
    skey: [u8; 20],
    provide: Methods,
    ia: Vec<u8>,
    hidden_pad: u16,
    input: Input,
    output: Vec<u8>,
    state: State,
    /// `(send, recv)` once `S` is known.
    ciphers: Option<(Rc4, Rc4)>,
}

enum State {
    /// Waiting for `Yb`.
    PeerKey,
    /// Searching for `ENCRYPT(VC)`, B's keystream over eight zeros.
    Sync([u8; VC_LEN]),
    /// Waiting for `crypto_select` and `len(PadD)`.
    Select,
    /// Waiting for PadD.
    PadD {
        method: Method,
        len: usize,
    },
    Finished,
}

impl Initiator {
    /// A handshake for the torrent `skey` (its info-hash) offering `provide`, with `ia` (at
    /// most 65,535 bytes, usually our BitTorrent handshake) sent encrypted in the third
    /// message. Queues `Ya` and PadA as the first output.
    ///
    /// # Panics
    /// If `ia` is longer than 65,535 bytes (its length field is 16 bits).
    pub fn new(skey: [u8; 20], provide: Methods, ia: &[u8], entropy: Entropy) -> Initiator {
        assert!(
            ia.len() <= usize::from(u16::MAX),
            "IA is at most 65535 bytes"
        );
        let keys = KeyPair::new(&entropy.secret);
        let mut output = Vec::with_capacity(KEY_LEN + entropy.pad.len());
        output.extend_from_slice(keys.public());
        output.extend_from_slice(&entropy.pad);
        Initiator {
            keys,
            skey,
            provide,
            ia: ia.to_vec(),
            hidden_pad: entropy.hidden_pad,
            input: Input::default(),
            output,
            state: State::PeerKey,
            ciphers: None,
        }
    }

    /// Bytes to send to the peer now (empty if none).
    pub fn take_output(&mut self) -> Vec<u8> {
        std::mem::take(&mut self.output)
    }

    /// Takes all of `input`. Once done, whatever followed the handshake is in
    /// [`Outcome::leftover`].
    pub fn feed(&mut self, input: &[u8]) -> Result<Progress, MseError> {
        self.input.extend(input);
        loop {
            match self.state {
                State::PeerKey => {
                    let Some(yb) = self.input.take(KEY_LEN) else {
                        return Ok(Progress::NeedMore);
                    };
                    let yb: [u8; KEY_LEN] = yb.try_into().expect("took KEY_LEN bytes");
                    self.state = State::Sync(self.send_third(&yb)?);
                }
                State::Sync(vc) => {
                    let window = &self.input.peek()[..self.input.len().min(VC_WINDOW)];
                    match find(window, &vc) {
                        Some(at) => {
                            self.input.skip(at + VC_LEN);
                            self.state = State::Select;
                        }
                        None if self.input.len() >= VC_WINDOW => {
                            return Err(MseError::SyncNotFound(VC_WINDOW));
                        }
                        None => return Ok(Progress::NeedMore),
                    }
                }
                State::Select => {
                    let recv = &mut self.ciphers.as_mut().expect("keys after Yb").1;
                    let Some(fields) = self.input.take(4 + 2) else {
                        return Ok(Progress::NeedMore);
                    };
                    recv.apply(fields);
                    let (select, len) = (u32_at(fields, 0), usize::from(u16_at(fields, 4)));
                    let method = self.accept_select(select)?;
                    if len > MAX_PAD {
                        return Err(MseError::Garbage("PadD longer than 512 bytes"));
                    }
                    self.state = State::PadD { method, len };
                }
                State::PadD { method, len } => {
                    let (send, mut recv) = self.ciphers.take().expect("keys after Yb");
                    let Some(pad) = self.input.take(len) else {
                        self.ciphers = Some((send, recv));
                        return Ok(Progress::NeedMore);
                    };
                    // Decrypted and dropped: only to keep the keystream in step.
                    recv.apply(pad);
                    self.state = State::Finished;
                    let mut leftover = self.input.rest();
                    let ciphers = match method {
                        Method::Rc4 => {
                            recv.apply(&mut leftover);
                            Some(Ciphers { send, recv })
                        }
                        Method::Plaintext => None,
                    };
                    return Ok(Progress::Done(Box::new(Outcome {
                        method,
                        skey: self.skey,
                        ciphers,
                        initial_payload: Vec::new(),
                        leftover,
                    })));
                }
                State::Finished => return Err(MseError::Garbage("handshake already finished")),
            }
        }
    }

    /// The error for a connection that ended now.
    pub fn truncated(&self) -> MseError {
        MseError::Truncated(match self.state {
            State::PeerKey => "the peer's public key",
            State::Sync(_) => "the verification constant",
            State::Select | State::PadD { .. } => "the method selection",
            State::Finished => "nothing",
        })
    }

    /// Computes `S` and both keys from `Yb`, queues the third message, and returns the
    /// encrypted VC to search for.
    fn send_third(&mut self, yb: &[u8; KEY_LEN]) -> Result<[u8; VC_LEN], MseError> {
        let s = self.keys.shared_secret(yb)?;
        let (mut send, mut recv) = dh::ciphers(&s, &self.skey);
        let out = &mut self.output;
        out.extend_from_slice(&dh::req1(&s));
        out.extend_from_slice(&dh::xor20(&dh::req2(&self.skey), &dh::req3(&s)));
        let start = out.len();
        out.extend_from_slice(&[0u8; VC_LEN]);
        out.extend_from_slice(&self.provide.bits().to_be_bytes());
        out.extend_from_slice(&self.hidden_pad.to_be_bytes());
        out.resize(out.len() + usize::from(self.hidden_pad), 0);
        let ia_len = u16::try_from(self.ia.len()).expect("checked in new");
        out.extend_from_slice(&ia_len.to_be_bytes());
        out.extend_from_slice(&self.ia);
        send.apply(&mut out[start..]);
        let mut vc = [0u8; VC_LEN];
        recv.apply(&mut vc);
        self.ciphers = Some((send, recv));
        Ok(vc)
    }

    /// B must select exactly one method, and one we offered.
    fn accept_select(&self, select: u32) -> Result<Method, MseError> {
        let method = match select {
            0x01 => Method::Plaintext,
            0x02 => Method::Rc4,
            _ if select & self.provide.bits() == 0 => {
                return Err(MseError::NoCommonMethod {
                    peer: select,
                    ours: self.provide.bits(),
                })
            }
            _ => {
                return Err(MseError::Garbage(
                    "crypto_select names more than one method",
                ))
            }
        };
        if !self.provide.contains(method) {
            return Err(MseError::NoCommonMethod {
                peer: select,
                ours: self.provide.bits(),
            });
        }
        Ok(method)
    }
}
