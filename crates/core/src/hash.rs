//! 20-byte identifiers: the v1 info-hash and the peer id (BEP 20 style).

use std::fmt;

/// SHA-1 of the bencoded `info` dictionary, exactly as its bytes appear in the torrent.
#[derive(Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct InfoHash(pub [u8; 20]);

/// A peer's 20-byte id.
#[derive(Clone, Copy, PartialEq, Eq, Hash)]
pub struct PeerId(pub [u8; 20]);

impl InfoHash {
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
        write!(f, "PeerId({})", String::from_utf8_lossy(&self.0).escape_debug())
    }
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
