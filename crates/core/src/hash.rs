//! 20-byte identifiers: the v1 info-hash and the peer id (BEP 20 style).

use std::fmt;

/// SHA-1 of the bencoded `info` dictionary, exactly as its bytes appear in the torrent.
#[derive(Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct InfoHash(pub [u8; 20]);

/// A peer's 20-byte id.
#[derive(Clone, Copy, PartialEq, Eq, Hash)]
pub struct PeerId(pub [u8; 20]);

impl InfoHash {
    /// SHA-1 of a bencoded `info` dictionary, given its exact bytes as they appear in the
    /// torrent (or as received over ut_metadata).
    pub fn from_info_bytes(raw_info: &[u8]) -> InfoHash {
        InfoHash(sha1_digest(raw_info))
    }

    /// Lower-case 40-character hex.
    pub fn to_hex(&self) -> String {
        hex(&self.0)
    }

    /// Parses 40 hex digits (either case). Base32 (32 chars) is accepted too, as magnet links may use it.
    pub fn from_hex_or_base32(s: &str) -> Option<InfoHash> {
        let s = s.trim();
        if s.len() == 40 {
            let mut out = [0u8; 20];
            for (i, chunk) in s.as_bytes().chunks(2).enumerate() {
                let hi = (chunk[0] as char).to_digit(16)?;
                let lo = (chunk[1] as char).to_digit(16)?;
                out[i] = (hi * 16 + lo) as u8;
            }
            Some(InfoHash(out))
        } else if s.len() == 32 {
            let mut out = [0u8; 20];
            let mut acc: u64 = 0;
            let mut bits = 0;
            let mut n = 0;
            for c in s.bytes() {
                let v = match c {
                    b'A'..=b'Z' => c - b'A',
                    b'a'..=b'z' => c - b'a',
                    b'2'..=b'7' => c - b'2' + 26,
                    _ => return None,
                } as u64;
                acc = (acc << 5) | v;
                bits += 5;
                if bits >= 8 {
                    bits -= 8;
                    out[n] = (acc >> bits) as u8;
                    n += 1;
                }
            }
            Some(InfoHash(out))
        } else {
            None
        }
    }
}

impl fmt::Display for InfoHash {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.to_hex())
    }
}

impl fmt::Debug for InfoHash {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "InfoHash({})", self.to_hex())
    }
}

impl PeerId {
    /// A BEP 20 Azureus-style id: `-SH0100-` followed by 12 random printable bytes.
    pub fn generate(rng: &mut crate::Rng) -> PeerId {
        const ALPHABET: &[u8] = b"0123456789abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ";
        let mut id = [0u8; 20];
        id[..8].copy_from_slice(b"-SH0100-");
        for b in &mut id[8..] {
            *b = ALPHABET[rng.below(ALPHABET.len() as u64) as usize];
        }
        PeerId(id)
    }
}

impl fmt::Debug for PeerId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "PeerId({})",
            String::from_utf8_lossy(&self.0).escape_debug()
        )
    }
}

/// SHA-1 of a byte string (piece hashes, info-hashes).
pub fn sha1_digest(bytes: &[u8]) -> [u8; 20] {
    use sha1::Digest;
    sha1::Sha1::digest(bytes).into()
}

/// Lower-case hex of any byte string.
pub fn hex(bytes: &[u8]) -> String {
    const DIGITS: &[u8; 16] = b"0123456789abcdef";
    let mut s = String::with_capacity(bytes.len() * 2);
    for b in bytes {
        s.push(DIGITS[(b >> 4) as usize] as char);
        s.push(DIGITS[(b & 15) as usize] as char);
    }
    s
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn info_hash_is_sha1_of_the_given_bytes() {
        // SHA-1("abc"), the FIPS 180 test vector.
        let h = InfoHash::from_info_bytes(b"abc");
        assert_eq!(h.to_hex(), "a9993e364706816aba3e25717850c26c9cd0d89d");
    }

    #[test]
    fn hex_and_base32_parse_to_the_same_hash() {
        let hex = "a9993e364706816aba3e25717850c26c9cd0d89d";
        let from_hex = InfoHash::from_hex_or_base32(hex).unwrap();
        let from_upper = InfoHash::from_hex_or_base32(&hex.to_uppercase()).unwrap();
        let from_b32 = InfoHash::from_hex_or_base32("VGMT4NSHA2AWVOR6EVYXQUGCNSONBWE5").unwrap();
        assert_eq!(from_hex, from_upper);
        assert_eq!(from_hex, from_b32);
        assert!(InfoHash::from_hex_or_base32("zz993e364706816aba3e25717850c26c9cd0d89d").is_none());
        assert!(InfoHash::from_hex_or_base32("abc").is_none());
    }
}
