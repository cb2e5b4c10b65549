//! BEP 44 items: targets, the signed buffer of mutable items, signing and verifying
//! (ed25519 through `ed25519-dalek`).

use crate::id::NodeId;
use crate::krpc::{MAX_SALT_LEN, MAX_VALUE_LEN};
use ed25519_dalek::{Signature, Signer, SigningKey, VerifyingKey};
use sha1::{Digest, Sha1};

/// A signed mutable item (BEP 44).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MutableItem {
    /// ed25519 public key.
    pub key: [u8; 32],
    /// Salt (empty for none), at most 64 bytes.
    pub salt: Vec<u8>,
    /// Sequence number: a newer version has a higher one.
    pub seq: i64,
    /// The value, bencoded.
    pub value: Vec<u8>,
    /// ed25519 signature over salt, seq and value.
    pub sig: [u8; 64],
}

/// Why an item cannot be made.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ItemError {
    /// The value is not bencoding, or not canonical.
    #[error("the value is not canonical bencoding")]
    NotBencoded,
    /// The value is over 1,000 bytes bencoded.
    #[error("the value is longer than 1000 bytes")]
    ValueTooBig,
    /// The salt is over 64 bytes.
    #[error("the salt is longer than 64 bytes")]
    SaltTooBig,
}

/// Checks that `value` is canonical bencoding of at most 1,000 bytes.
pub fn check_value(value: &[u8]) -> Result<(), ItemError> {
    if value.len() > MAX_VALUE_LEN {
        return Err(ItemError::ValueTooBig);
    }
    let decoded = shoal_bencode::decode(value).map_err(|_| ItemError::NotBencoded)?;
    match crate::krpc::canonical(&decoded) {
        Ok(bytes) if bytes == value => Ok(()),
        _ => Err(ItemError::NotBencoded),
    }
}

/// The target of an immutable item: SHA-1 of its bencoded value.
pub fn immutable_target(value: &[u8]) -> NodeId {
    NodeId(Sha1::digest(value).into())
}

/// The target of a mutable item: SHA-1 of the public key and the salt.
pub fn mutable_target(key: &[u8; 32], salt: &[u8]) -> NodeId {
    let mut h = Sha1::new();
    h.update(key);
    h.update(salt);
    NodeId(h.finalize().into())
}

/// What is signed: `4:salt<len>:<salt>` (only for a non-empty salt), `3:seqi<seq>e1:v`,
/// then the bencoded value.
fn signed_buffer(salt: &[u8], seq: i64, value: &[u8]) -> Vec<u8> {
    let mut buf = Vec::with_capacity(salt.len() + value.len() + 40);
    if !salt.is_empty() {
        buf.extend_from_slice(format!("4:salt{}:", salt.len()).as_bytes());
        buf.extend_from_slice(salt);
    }
    buf.extend_from_slice(format!("3:seqi{seq}e1:v").as_bytes());
    buf.extend_from_slice(value);
    buf
}

/// Whether `sig` is `key`'s signature over salt, seq and value.
pub(crate) fn verify(key: &[u8; 32], salt: &[u8], seq: i64, value: &[u8], sig: &[u8; 64]) -> bool {
    let Ok(vk) = VerifyingKey::from_bytes(key) else {
        return false;
    };
    vk.verify_strict(
        &signed_buffer(salt, seq, value),
        &Signature::from_bytes(sig),
    )
    .is_ok()
}

impl MutableItem {
    /// Signs `value` (canonical bencoding) under the ed25519 secret key `secret` (its
    /// 32-byte seed).
    pub fn sign(secret: &[u8; 32], salt: &[u8], seq: i64, value: &[u8]) -> Result<Self, ItemError> {
        if salt.len() > MAX_SALT_LEN {
            return Err(ItemError::SaltTooBig);
        }
        check_value(value)?;
        let sk = SigningKey::from_bytes(secret);
        let sig = sk.sign(&signed_buffer(salt, seq, value)).to_bytes();
        Ok(MutableItem {
            key: sk.verifying_key().to_bytes(),
            salt: salt.to_vec(),
            seq,
            value: value.to_vec(),
            sig,
        })
    }

    /// The public key of the secret key `secret`.
    pub fn public_key(secret: &[u8; 32]) -> [u8; 32] {
        SigningKey::from_bytes(secret).verifying_key().to_bytes()
    }

    /// Where the item is stored: SHA-1(key ‖ salt).
    pub fn target(&self) -> NodeId {
        mutable_target(&self.key, &self.salt)
    }

    /// Whether the signature is valid.
    pub fn verify(&self) -> bool {
        verify(&self.key, &self.salt, self.seq, &self.value, &self.sig)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// BEP 44's test vectors 1 and 2 (their private keys are in NaCl's expanded form, so
    /// the vectors are checked by verifying, and signing by a round trip).
    #[test]
    fn bep44_test_vectors() {
        let key = hex::<32>("77ff84905a91936367c01360803104f92432fcd904a43511876df5cdf3e7e548");
        let sig1 = hex::<64>(concat!(
            "305ac8aeb6c9c151fa120f120ea2cfb923564e11552d06a5d856091e5e853cff",
            "1260d3f39e4999684aa92eb73ffd136e6f4f3ecbfda0ce53a1608ecd7ae21f01"
        ));
        let sig2 = hex::<64>(concat!(
            "6834284b6b24c3204eb2fea824d82f88883a3d95e8b4a21b8c0ded553d17d17d",
            "df9a8a7104b1258f30bed3787e6cb896fca78c58f8e03b5f18f14951a87d9a08"
        ));
        let item = MutableItem {
            key,
            salt: Vec::new(),
            seq: 1,
            value: b"12:Hello World!".to_vec(),
            sig: sig1,
        };
        assert!(item.verify());
        assert_eq!(
            item.target().to_string(),
            "4a533d47ec9c7d95b1ad75f576cffc641853b750"
        );
        let salted = MutableItem {
            salt: b"foobar".to_vec(),
            sig: sig2,
            ..item.clone()
        };
        assert!(salted.verify());
        assert_eq!(
            salted.target().to_string(),
            "411eba73b6f087ca51a3795d9c8c938d365e32c1"
        );
        let mut bad = item.clone();
        bad.seq = 2;
        assert!(!bad.verify());
    }

    #[test]
    fn sign_then_verify() {
        let item = MutableItem::sign(&[7; 32], b"salt", 5, b"i42e").unwrap();
        assert_eq!(item.key, MutableItem::public_key(&[7; 32]));
        assert!(item.verify());
        assert_eq!(
            MutableItem::sign(&[7; 32], &[0; 65], 5, b"i42e"),
            Err(ItemError::SaltTooBig)
        );
        assert_eq!(
            MutableItem::sign(&[7; 32], b"", 5, b"i42"),
            Err(ItemError::NotBencoded)
        );
    }

    #[test]
    fn immutable_target_is_sha1_of_value() {
        assert_eq!(
            immutable_target(b"12:Hello World!").to_string(),
            "e5f96f6f38320f0f33959cb4d3d656452117aadb"
        );
        assert_eq!(check_value(b"d1:bi1e1:ai2ee"), Err(ItemError::NotBencoded));
        assert_eq!(check_value(b"d1:ai2e1:bi1ee"), Ok(()));
    }

    fn hex<const N: usize>(s: &str) -> [u8; N] {
        let mut out = [0u8; N];
        for (i, o) in out.iter_mut().enumerate() {
            *o = u8::from_str_radix(&s[2 * i..2 * i + 2], 16).unwrap();
        }
        out
    }
}
