//! What the two sides may agree on (`crypto_provide` / `crypto_select`), and the random
//! choices of one handshake.

/// How the stream after the handshake is carried.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Method {
    /// The BitTorrent stream in the clear; only the handshake was obfuscated.
    Plaintext,
    /// Every byte RC4-encrypted, each direction with its own key.
    Rc4,
}

impl Method {
    /// The method's bit in `crypto_provide` and `crypto_select`.
    pub const fn bit(self) -> u32 {
        match self {
            Method::Plaintext => 0x01,
            Method::Rc4 => 0x02,
        }
    }
}

/// A set of methods: what an initiator provides, what a receiver accepts.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Methods(u32);

impl Methods {
    /// Plaintext only (the stream is clear after an obfuscated handshake).
    pub const PLAINTEXT: Methods = Methods(0x01);
    /// RC4 only.
    pub const RC4: Methods = Methods(0x02);
    /// Either.
    pub const BOTH: Methods = Methods(0x03);

    /// The bits as sent on the wire.
    pub const fn bits(self) -> u32 {
        self.0
    }

    /// Whether `method` is in the set.
    pub const fn contains(self, method: Method) -> bool {
        self.0 & method.bit() != 0
    }
}

/// What the receiver accepts and which method it picks when the initiator offers both.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Policy {
    /// Methods we accept.
    pub allowed: Methods,
    /// When the initiator offers both and both are allowed: pick RC4 (true) or plaintext.
    pub prefer_rc4: bool,
}

impl Policy {
    /// The method to select from the initiator's `provide` bits, if any is common.
    pub(crate) fn select(self, provide: u32) -> Option<Method> {
        let common = provide & self.allowed.bits();
        let rc4 = common & Method::Rc4.bit() != 0;
        let plain = common & Method::Plaintext.bit() != 0;
        match (plain, rc4) {
            (true, true) if self.prefer_rc4 => Some(Method::Rc4),
            (true, _) => Some(Method::Plaintext),
            (false, true) => Some(Method::Rc4),
            (false, false) => None,
        }
    }
}

/// Most padding in each padding field (PadA, PadB, PadC, PadD), by the spec.
pub const MAX_PAD: usize = 512;

/// The random choices of one handshake: the Diffie-Hellman secret and the padding.
///
/// Drawn from a source the caller picks: the OS generator in production (the secret must be
/// unguessable), a seeded generator in tests so a run repeats.
#[derive(Clone)]
pub struct Entropy {
    pub(crate) secret: [u8; 20],
    /// PadA or PadB: sent in the clear after the public key, so random bytes.
    pub(crate) pad: Vec<u8>,
    /// Length of PadC or PadD, which go out encrypted, as zeros.
    pub(crate) hidden_pad: u16,
}

impl Entropy {
    /// Draws a secret, two padding lengths in `0..=512` and the clear padding's bytes from
    /// `fill`, which must fill the slice it is given with random bytes.
    pub fn draw(mut fill: impl FnMut(&mut [u8])) -> Entropy {
        let mut secret = [0u8; 20];
        fill(&mut secret);
        let mut lens = [0u8; 4];
        fill(&mut lens);
        let pad_len = usize::from(u16::from_be_bytes([lens[0], lens[1]])) % (MAX_PAD + 1);
        let hidden_pad = u16::from_be_bytes([lens[2], lens[3]]) % (MAX_PAD as u16 + 1);
        let mut pad = vec![0u8; pad_len];
        fill(&mut pad);
        Entropy {
            secret,
            pad,
            hidden_pad,
        }
    }

    /// Fixed choices, for tests and reproducible vectors. Pads longer than 512 are cut to 512.
    pub fn fixed(secret: [u8; 20], pad: &[u8], hidden_pad: u16) -> Entropy {
        Entropy {
            secret,
            pad: pad[..pad.len().min(MAX_PAD)].to_vec(),
            hidden_pad: hidden_pad.min(MAX_PAD as u16),
        }
    }
}

impl std::fmt::Debug for Entropy {
    /// Never prints the secret.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Entropy")
            .field("pad", &self.pad.len())
            .field("hidden_pad", &self.hidden_pad)
            .finish_non_exhaustive()
    }
}
