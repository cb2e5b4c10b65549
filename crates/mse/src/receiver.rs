//! Side B, the one that accepted the connection (see [`crate::initiator`] for the message
//! order). B finds the end of PadA by searching for `HASH('req1', S)` within the 512 + 20
//! bytes that may follow `Ya`, then learns the torrent from `HASH('req2', SKEY)`, which it
//! must match against each torrent it runs.

use crate::dh::{self, KeyPair, KEY_LEN};
use crate::input::{find, u16_at, u32_at, Input};
use crate::outcome::{Ciphers, Outcome, Progress};
use crate::{Entropy, Method, MseError, Policy, Rc4, MAX_PAD, VC_LEN};

/// Bytes of `HASH('req1', S)` and of the padding before it that B searches.
const REQ1_WINDOW: usize = MAX_PAD + 20;

/// Finds the info-hash whose `HASH('req2', info_hash)` (see [`crate::req2`]) is the argument.
pub type SkeyLookup = Box<dyn FnMut(&[u8; 20]) -> Option<[u8; 20]> + Send>;

/// The receiver's state machine. Create it once the first bytes show an encrypted
/// handshake, [`Receiver::feed`] it everything the peer sends, and send
/// [`Receiver::take_output`] after each call, until [`Progress::Done`].
pub struct Receiver {
    keys: KeyPair,
    policy: Policy,
    lookup: SkeyLookup,
    entropy: Entropy,
    input: Input,
    output: Vec<u8>,
    state: State,
    /// `S`, once `Ya` arrived.
    secret: Option<[u8; KEY_LEN]>,
    /// The torrent and `(send, recv)`, once SKEY is known.
    found: Option<([u8; 20], Rc4, Rc4)>,
}

enum State {
    /// Waiting for `Ya`.
    PeerKey,
    /// Searching for `HASH('req1', S)`.
    Sync([u8; 20]),
    /// Waiting for `HASH('req2', SKEY) xor HASH('req3', S)`.
    Skey,
    /// Waiting for VC, `crypto_provide` and `len(PadC)`.
    Header,
    /// Waiting for PadC and `len(IA)`.
    PadC {
        method: Method,
        len: usize,
    },
    /// Waiting for IA.
    Ia {
        method: Method,
        len: usize,
    },
    Finished,
}

impl Receiver {
    /// A handshake that accepts what `policy` allows and finds torrents with `lookup`.
    pub fn new(policy: Policy, lookup: SkeyLookup, entropy: Entropy) -> Receiver {
        Receiver {
            keys: KeyPair::new(&entropy.secret),
            policy,
            lookup,
            entropy,
            input: Input::default(),
            output: Vec::new(),
            state: State::PeerKey,
            secret: None,
            found: None,
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
                    let Some(ya) = self.input.take(KEY_LEN) else {
                        return Ok(Progress::NeedMore);
                    };
                    let ya: [u8; KEY_LEN] = ya.try_into().expect("took KEY_LEN bytes");
                    let s = self.keys.shared_secret(&ya)?;
                    self.output.extend_from_slice(self.keys.public());
                    self.output.extend_from_slice(&self.entropy.pad);
                    self.secret = Some(s);
                    self.state = State::Sync(dh::req1(&s));
                }
                State::Sync(req1) => {
                    let window = &self.input.peek()[..self.input.len().min(REQ1_WINDOW)];
                    match find(window, &req1) {
                        Some(at) => {
                            self.input.skip(at + req1.len());
                            self.state = State::Skey;
                        }
                        None if self.input.len() >= REQ1_WINDOW => {
                            return Err(MseError::SyncNotFound(REQ1_WINDOW));
                        }
                        None => return Ok(Progress::NeedMore),
                    }
                }
                State::Skey => {
                    let Some(hidden) = self.input.take(20) else {
                        return Ok(Progress::NeedMore);
                    };
                    let hidden: [u8; 20] = (&*hidden).try_into().expect("took 20 bytes");
                    let s = self.secret.expect("S after Ya");
                    let req2 = dh::xor20(&hidden, &dh::req3(&s));
                    let skey = (self.lookup)(&req2).ok_or(MseError::UnknownSkey)?;
                    // A encrypts with keyA, so we receive with it.
                    let (recv, send) = dh::ciphers(&s, &skey);
                    self.found = Some((skey, send, recv));
                    self.state = State::Header;
                }
                State::Header => {
                    let Some(fields) = self.input.take(VC_LEN + 4 + 2) else {
                        return Ok(Progress::NeedMore);
                    };
                    self.found
                        .as_mut()
                        .expect("keys after SKEY")
                        .2
                        .apply(fields);
                    if fields[..VC_LEN] != [0u8; VC_LEN] {
                        return Err(MseError::Garbage("verification constant is not zero"));
                    }
                    let provide = u32_at(fields, VC_LEN);
                    let len = usize::from(u16_at(fields, VC_LEN + 4));
                    if len > MAX_PAD {
                        return Err(MseError::Garbage("PadC longer than 512 bytes"));
                    }
                    let method = self
                        .policy
                        .select(provide)
                        .ok_or(MseError::NoCommonMethod {
                            peer: provide,
                            ours: self.policy.allowed.bits(),
                        })?;
                    self.state = State::PadC { method, len };
                }
                State::PadC { method, len } => {
                    let Some(fields) = self.input.take(len + 2) else {
                        return Ok(Progress::NeedMore);
                    };
                    self.found
                        .as_mut()
                        .expect("keys after SKEY")
                        .2
                        .apply(fields);
                    let len = usize::from(u16_at(fields, len));
                    self.state = State::Ia { method, len };
                }
                State::Ia { method, len } => {
                    let Some(ia) = self.input.take(len) else {
                        return Ok(Progress::NeedMore);
                    };
                    let (skey, mut send, mut recv) = self.found.take().expect("keys after SKEY");
                    // IA is encrypted whatever the method: it went out before A knew it.
                    recv.apply(ia);
                    let initial_payload = ia.to_vec();
                    self.send_fourth(&mut send, method);
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
                        skey,
                        ciphers,
                        initial_payload,
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
            State::Sync(_) => "the synchronisation hash",
            State::Skey => "the torrent's hash",
            State::Header | State::PadC { .. } => "the offered methods",
            State::Ia { .. } => "the initial payload",
            State::Finished => "nothing",
        })
    }

    /// Queues `ENCRYPT(VC, crypto_select, len(PadD), PadD)`.
    fn send_fourth(&mut self, send: &mut Rc4, method: Method) {
        let out = &mut self.output;
        let start = out.len();
        out.extend_from_slice(&[0u8; VC_LEN]);
        out.extend_from_slice(&method.bit().to_be_bytes());
        let pad = self.entropy.hidden_pad;
        out.extend_from_slice(&pad.to_be_bytes());
        out.resize(out.len() + usize::from(pad), 0);
        send.apply(&mut out[start..]);
    }
}
