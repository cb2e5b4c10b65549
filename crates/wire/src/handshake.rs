//! The 68-byte BitTorrent handshake (BEP 3) and the reserved-bit flags of BEP 5, 6 and 10.
//!
//! Layout: `\x13BitTorrent protocol`, 8 reserved bytes, the 20-byte info-hash, the 20-byte peer id.

use shoal_core::{InfoHash, PeerId};

use crate::WireError;

/// The 20-byte prefix every handshake starts with: the length 19 and the protocol string.
pub const PROTOCOL_PREFIX: &[u8; 20] = b"\x13BitTorrent protocol";

/// BEP 10 extension protocol: `reserved[5] & 0x10`.
const EXTENSION_BYTE: usize = 5;
const EXTENSION_BIT: u8 = 0x10;
/// BEP 6 fast extension: `reserved[7] & 0x04`.
const FAST_BYTE: usize = 7;
const FAST_BIT: u8 = 0x04;
/// BEP 5 DHT: `reserved[7] & 0x01`.
const DHT_BYTE: usize = 7;
const DHT_BIT: u8 = 0x01;

/// The first message each side sends: which torrent it wants, who it is and which
/// extensions it speaks.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Handshake {
    /// Extension flags; use the `with_*` and `supports_*` methods rather than the bits.
    pub reserved: [u8; 8],
    /// The torrent this connection is for; a side that does not serve it hangs up.
    pub info_hash: InfoHash,
    /// The sender's peer id.
    pub peer_id: PeerId,
}

impl Handshake {
    /// Length of an encoded handshake in bytes.
    pub const LEN: usize = 68;

    /// Our own handshake: advertises the extension protocol and the fast extension.
    pub fn new(info_hash: InfoHash, peer_id: PeerId) -> Handshake {
        Handshake {
            reserved: [0; 8],
            info_hash,
            peer_id,
        }
        .with_extensions(true)
        .with_fast(true)
    }

    /// Sets or clears the BEP 10 extension-protocol flag.
    pub fn with_extensions(mut self, on: bool) -> Handshake {
        set_bit(&mut self.reserved[EXTENSION_BYTE], EXTENSION_BIT, on);
        self
    }

    /// Sets or clears the BEP 6 fast-extension flag.
    pub fn with_fast(mut self, on: bool) -> Handshake {
        set_bit(&mut self.reserved[FAST_BYTE], FAST_BIT, on);
        self
    }

    /// Sets or clears the BEP 5 DHT flag (the peer may then send PORT).
    pub fn with_dht(mut self, on: bool) -> Handshake {
        set_bit(&mut self.reserved[DHT_BYTE], DHT_BIT, on);
        self
    }

    /// The 68 bytes to send.
    pub fn encode(&self) -> [u8; 68] {
        let mut out = [0u8; Self::LEN];
        out[..20].copy_from_slice(PROTOCOL_PREFIX);
        out[20..28].copy_from_slice(&self.reserved);
        out[28..48].copy_from_slice(&self.info_hash.0);
        out[48..68].copy_from_slice(&self.peer_id.0);
        out
    }

    /// Parses exactly [`Handshake::LEN`] bytes.
    pub fn decode(buf: &[u8]) -> Result<Handshake, WireError> {
        let buf: &[u8; 68] = buf
            .try_into()
            .map_err(|_| WireError::BadHandshake("not 68 bytes long"))?;
        if &buf[..20] != PROTOCOL_PREFIX {
            return Err(WireError::BadHandshake(
                "does not start with \"\\x13BitTorrent protocol\"",
            ));
        }
        // `buf` is a `[u8; 68]`, so these constant ranges are always in bounds.
        let mut hs = Handshake {
            reserved: [0; 8],
            info_hash: InfoHash([0; 20]),
            peer_id: PeerId([0; 20]),
        };
        hs.reserved.copy_from_slice(&buf[20..28]);
        hs.info_hash.0.copy_from_slice(&buf[28..48]);
        hs.peer_id.0.copy_from_slice(&buf[48..68]);
        Ok(hs)
    }

    /// Whether the sender speaks the BEP 10 extension protocol (ut_metadata, ut_pex).
    pub fn supports_extensions(&self) -> bool {
        self.reserved[EXTENSION_BYTE] & EXTENSION_BIT != 0
    }

    /// Whether the sender speaks the BEP 6 fast extension (HAVE ALL, REJECT...).
    pub fn supports_fast(&self) -> bool {
        self.reserved[FAST_BYTE] & FAST_BIT != 0
    }

    /// Whether the sender runs a DHT node (BEP 5).
    pub fn supports_dht(&self) -> bool {
        self.reserved[DHT_BYTE] & DHT_BIT != 0
    }
}

fn set_bit(byte: &mut u8, bit: u8, on: bool) {
    if on {
        *byte |= bit;
    } else {
        *byte &= !bit;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sample() -> Handshake {
        Handshake::new(InfoHash([0xAB; 20]), PeerId(*b"-SH0100-abcdefghijkl"))
    }

    #[test]
    fn encodes_the_bep3_layout() {
        let bytes = sample().encode();
        assert_eq!(&bytes[..20], b"\x13BitTorrent protocol");
        assert_eq!(&bytes[20..28], &[0, 0, 0, 0, 0, 0x10, 0, 0x04]);
        assert_eq!(&bytes[28..48], &[0xAB; 20]);
        assert_eq!(&bytes[48..], b"-SH0100-abcdefghijkl");
    }

    #[test]
    fn round_trips() {
        let hs = sample().with_dht(true);
        assert_eq!(Handshake::decode(&hs.encode()), Ok(hs));
    }

    #[test]
    fn reports_reserved_bits() {
        let plain = Handshake {
            reserved: [0; 8],
            ..sample()
        };
        assert!(!plain.supports_extensions() && !plain.supports_fast() && !plain.supports_dht());
        let ours = sample();
        assert!(ours.supports_extensions() && ours.supports_fast() && !ours.supports_dht());
        let dht_only = plain.with_dht(true);
        assert!(dht_only.supports_dht() && !dht_only.supports_fast());
        assert!(!ours.with_fast(false).supports_fast());
    }

    #[test]
    fn rejects_wrong_length_and_protocol() {
        let bytes = sample().encode();
        assert!(Handshake::decode(&bytes[..67]).is_err());
        let mut longer = bytes.to_vec();
        longer.push(0);
        assert!(Handshake::decode(&longer).is_err());
        let mut wrong = bytes;
        wrong[1] = b'b';
        assert!(matches!(
            Handshake::decode(&wrong),
            Err(WireError::BadHandshake(_))
        ));
        let mut wrong_len = bytes;
        wrong_len[0] = 18;
        assert!(Handshake::decode(&wrong_len).is_err());
    }
}
