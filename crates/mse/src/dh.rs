//! MSE's Diffie-Hellman exchange over its fixed 768-bit prime, generator 2, and the SHA-1
//! derivations from the shared secret `S` and the torrent's info-hash `SKEY`.

use crate::rc4::Rc4;
use crate::MseError;
use num_bigint::BigUint;
use sha1::{Digest, Sha1};

/// Bytes of a public key (`Ya`, `Yb`) and of the shared secret `S`: the prime's size.
pub const KEY_LEN: usize = 96;

/// The MSE prime `P`, big-endian. Every client uses this one value.
const PRIME: [u8; KEY_LEN] = [
    0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xC9, 0x0F, 0xDA, 0xA2, 0x21, 0x68, 0xC2, 0x34,
    0xC4, 0xC6, 0x62, 0x8B, 0x80, 0xDC, 0x1C, 0xD1, 0x29, 0x02, 0x4E, 0x08, 0x8A, 0x67, 0xCC, 0x74,
    0x02, 0x0B, 0xBE, 0xA6, 0x3B, 0x13, 0x9B, 0x22, 0x51, 0x4A, 0x08, 0x79, 0x8E, 0x34, 0x04, 0xDD,
    0xEF, 0x95, 0x19, 0xB3, 0xCD, 0x3A, 0x43, 0x1B, 0x30, 0x2B, 0x0A, 0x6D, 0xF2, 0x5F, 0x14, 0x37,
    0x4F, 0xE1, 0x35, 0x6D, 0x6D, 0x51, 0xC2, 0x45, 0xE4, 0x85, 0xB5, 0x76, 0x62, 0x5E, 0x7E, 0xC6,
    0xF4, 0x4C, 0x42, 0xE9, 0xA6, 0x3A, 0x36, 0x21, 0x00, 0x00, 0x00, 0x00, 0x00, 0x09, 0x05, 0x63,
];

/// One side's key pair: the 160-bit secret `X` and the public `Y = 2^X mod P`.
pub(crate) struct KeyPair {
    secret: BigUint,
    public: [u8; KEY_LEN],
}

impl KeyPair {
    /// `secret` is 20 random bytes (160 bits, what the spec recommends: more adds time, not
    /// security, against a 768-bit group).
    pub(crate) fn new(secret: &[u8; 20]) -> KeyPair {
        let secret = BigUint::from_bytes_be(secret);
        let public = BigUint::from(2u8).modpow(&secret, &prime());
        KeyPair {
            secret,
            public: to_key_bytes(&public),
        }
    }

    pub(crate) fn public(&self) -> &[u8; KEY_LEN] {
        &self.public
    }

    /// `S = Y_peer^X mod P`. A peer key of 0, 1, `P - 1` or beyond `P` is refused: those
    /// make `S` guessable (or are not keys at all).
    pub(crate) fn shared_secret(&self, peer: &[u8; KEY_LEN]) -> Result<[u8; KEY_LEN], MseError> {
        let p = prime();
        let y = BigUint::from_bytes_be(peer);
        if y <= BigUint::from(1u8) || y >= &p - 1u8 {
            return Err(MseError::Garbage("public key out of range"));
        }
        Ok(to_key_bytes(&y.modpow(&self.secret, &p)))
    }
}

fn prime() -> BigUint {
    BigUint::from_bytes_be(&PRIME)
}

/// Big-endian, left-padded with zeros to the full 96 bytes (the hashes below cover all 96).
fn to_key_bytes(n: &BigUint) -> [u8; KEY_LEN] {
    let bytes = n.to_bytes_be();
    let mut out = [0u8; KEY_LEN];
    out[KEY_LEN - bytes.len()..].copy_from_slice(&bytes);
    out
}

/// SHA-1 of the parts, concatenated.
fn hash(parts: &[&[u8]]) -> [u8; 20] {
    let mut h = Sha1::new();
    for part in parts {
        h.update(part);
    }
    h.finalize().into()
}

/// `HASH('req1', S)`: the receiver's synchronisation marker.
pub(crate) fn req1(s: &[u8; KEY_LEN]) -> [u8; 20] {
    hash(&[b"req1", s])
}

/// `HASH('req2', SKEY)`: names the torrent without revealing its info-hash to an observer
/// who lacks `S`. The receiver compares it with the same hash of each torrent it runs.
pub fn req2(skey: &[u8; 20]) -> [u8; 20] {
    hash(&[b"req2", skey])
}

/// `HASH('req3', S)`, XORed over `req2` on the wire.
pub(crate) fn req3(s: &[u8; KEY_LEN]) -> [u8; 20] {
    hash(&[b"req3", s])
}

/// The two ciphers of a connection: `keyA` encrypts what the initiator sends, `keyB` what
/// the receiver sends.
pub(crate) fn ciphers(s: &[u8; KEY_LEN], skey: &[u8; 20]) -> (Rc4, Rc4) {
    let a = Rc4::mse(&hash(&[b"keyA", s, skey]));
    let b = Rc4::mse(&hash(&[b"keyB", s, skey]));
    (a, b)
}

pub(crate) fn xor20(a: &[u8; 20], b: &[u8; 20]) -> [u8; 20] {
    std::array::from_fn(|i| a[i] ^ b[i])
}
