//! The uTP packet codec (BEP 29): the 20-byte header, the extension chain with its
//! selective ACK, and the payload.
//!
//! Decoding borrows from the datagram (the SACK bitmask and the payload are slices of it),
//! so it allocates nothing, and it checks everything a peer could get wrong: the version,
//! the type, the length of every extension, the number of extensions. Unknown extensions
//! are skipped, as BEP 29 asks, and are not kept: a packet re-encodes without them.
//! Encoding writes into a buffer the caller owns.

use thiserror::Error;

/// Length of the fixed header.
pub const HEADER_LEN: usize = 20;
/// The only protocol version there is.
pub const VERSION: u8 = 1;
/// Extension number of the selective ACK.
const EXT_SACK: u8 = 1;
/// Extensions read before giving up on a packet: libtorrent and libutp send at most two
/// (SACK and the old "extension bits"), so a longer chain is junk, and the bound keeps the
/// work per datagram small.
pub const MAX_EXTENSIONS: usize = 8;
/// Largest SACK bitmask we send, in bytes: 256 packets past the hole. (libtorrent sends
/// up to what its packet has room for; 256 covers our reorder window's useful part.)
pub const MAX_SACK_LEN: usize = 32;

/// The five packet types of BEP 29, in their wire numbering.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum PacketType {
    /// `ST_DATA`: a payload, consuming one sequence number.
    Data = 0,
    /// `ST_FIN`: the sender's last sequence number; the connection ends after it.
    Fin = 1,
    /// `ST_STATE`: an ACK with no payload; does not consume a sequence number.
    State = 2,
    /// `ST_RESET`: the sender has no state for this connection.
    Reset = 3,
    /// `ST_SYN`: opens a connection.
    Syn = 4,
}

impl PacketType {
    fn from_nibble(n: u8) -> Option<Self> {
        Some(match n {
            0 => Self::Data,
            1 => Self::Fin,
            2 => Self::State,
            3 => Self::Reset,
            4 => Self::Syn,
            _ => return None,
        })
    }
}

/// The fixed header of every packet.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Header {
    /// What the packet is.
    pub packet_type: PacketType,
    /// The receiver's id for the connection (the initiator's SYN carries its own receive id).
    pub connection_id: u16,
    /// The sender's clock, in microseconds, when it sent the packet (wraps).
    pub timestamp_us: u32,
    /// The sender's last one-way delay sample: its clock minus our timestamp, for the last
    /// packet it received from us (0 before it has one).
    pub timestamp_diff_us: u32,
    /// Bytes the sender can still take into its receive buffer.
    pub wnd_size: u32,
    /// This packet's sequence number (for `ST_STATE`, the next one the sender will use).
    pub seq_nr: u16,
    /// The last sequence number the sender received in order.
    pub ack_nr: u16,
}

/// A selective ACK: bit `i` set means packet `ack_nr + 2 + i` was received.
///
/// BEP 29 asks for a bitmask of a multiple of 4 bytes, and we send only those; but
/// libtorrent sends `ceil(span / 8)` bytes, any number from 1, so any non-empty bitmask
/// (up to the 255 bytes the length field allows) is accepted.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SelectiveAck<'a> {
    bitmask: &'a [u8],
}

impl<'a> SelectiveAck<'a> {
    /// A SACK over `bitmask`, or `None` if it is empty or longer than the one-byte
    /// length field allows.
    pub fn new(bitmask: &'a [u8]) -> Option<Self> {
        let ok = !bitmask.is_empty() && bitmask.len() <= 255;
        ok.then_some(Self { bitmask })
    }

    /// The raw bitmask, in wire order.
    pub fn bitmask(&self) -> &'a [u8] {
        self.bitmask
    }

    /// How many packets the bitmask covers.
    pub fn len_bits(&self) -> usize {
        self.bitmask.len() * 8
    }

    /// Whether packet `ack_nr + 2 + i` is marked received. The least significant bit of
    /// the first byte is `i = 0` (BEP 29's "reverse byte order").
    pub fn is_set(&self, i: usize) -> bool {
        self.bitmask
            .get(i / 8)
            .is_some_and(|byte| byte & (1 << (i % 8)) != 0)
    }

    /// The offsets `i` whose bit is set, in increasing order.
    pub fn iter_set(&self) -> impl Iterator<Item = usize> + 'a {
        let mask = self.bitmask;
        (0..mask.len() * 8).filter(move |&i| mask[i / 8] & (1 << (i % 8)) != 0)
    }
}

/// A decoded packet, borrowing the SACK and payload from the datagram.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Packet<'a> {
    /// The fixed header.
    pub header: Header,
    /// The selective ACK extension, if the packet carries one (the first, if several).
    pub sack: Option<SelectiveAck<'a>>,
    /// Everything after the extensions.
    pub payload: &'a [u8],
}

/// Why a datagram is not a well-formed uTP packet.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Error)]
pub enum DecodeError {
    /// Fewer than the 20 bytes of the header.
    #[error("uTP packet of {0} bytes is shorter than the 20-byte header")]
    TooShort(usize),
    /// The low nibble of the first byte is not 1.
    #[error("uTP version {0} is not 1")]
    BadVersion(u8),
    /// The high nibble of the first byte is not a packet type (0 to 4).
    #[error("uTP packet type {0} is unknown")]
    BadType(u8),
    /// The packet ends inside an extension's two-byte header.
    #[error("uTP packet ends inside an extension header")]
    ExtensionTruncated,
    /// An extension claims more bytes than the packet has left.
    #[error("uTP extension of {len} bytes overflows the {left} bytes left")]
    ExtensionOverflow {
        /// The length the extension claims.
        len: u8,
        /// Bytes left in the packet after its header.
        left: usize,
    },
    /// More than [`MAX_EXTENSIONS`] extensions.
    #[error("uTP packet has more than {MAX_EXTENSIONS} extensions")]
    TooManyExtensions,
    /// A selective ACK of no bytes.
    #[error("uTP selective ACK of {0} bytes")]
    BadSackLength(u8),
}

/// The caller's buffer cannot hold the encoded packet.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Error)]
#[error("buffer of {have} bytes cannot hold a {need}-byte uTP packet")]
pub struct BufferTooSmall {
    /// Bytes the packet needs.
    pub need: usize,
    /// Bytes the buffer has.
    pub have: usize,
}

/// Whether the first byte of a datagram says uTP (version 1, type 0 to 4): what tells uTP
/// from the DHT's bencoded dictionaries (first byte `d`) on a shared socket.
pub fn looks_like_utp(datagram: &[u8]) -> bool {
    datagram.len() >= HEADER_LEN
        && datagram[0] & 0x0f == VERSION
        && PacketType::from_nibble(datagram[0] >> 4).is_some()
}

impl<'a> Packet<'a> {
    /// Decodes one datagram.
    pub fn decode(data: &'a [u8]) -> Result<Self, DecodeError> {
        let Some((fixed, mut rest)) = data.split_first_chunk::<HEADER_LEN>() else {
            return Err(DecodeError::TooShort(data.len()));
        };
        let version = fixed[0] & 0x0f;
        if version != VERSION {
            return Err(DecodeError::BadVersion(version));
        }
        let packet_type =
            PacketType::from_nibble(fixed[0] >> 4).ok_or(DecodeError::BadType(fixed[0] >> 4))?;
        let be16 = |at: usize| u16::from_be_bytes([fixed[at], fixed[at + 1]]);
        let be32 = |at: usize| {
            u32::from_be_bytes([fixed[at], fixed[at + 1], fixed[at + 2], fixed[at + 3]])
        };
        let header = Header {
            packet_type,
            connection_id: be16(2),
            timestamp_us: be32(4),
            timestamp_diff_us: be32(8),
            wnd_size: be32(12),
            seq_nr: be16(16),
            ack_nr: be16(18),
        };

        let mut sack = None;
        let mut next = fixed[1];
        let mut count = 0;
        while next != 0 {
            count += 1;
            if count > MAX_EXTENSIONS {
                return Err(DecodeError::TooManyExtensions);
            }
            let Some((&[kind, len], after)) = rest.split_first_chunk::<2>() else {
                return Err(DecodeError::ExtensionTruncated);
            };
            if usize::from(len) > after.len() {
                return Err(DecodeError::ExtensionOverflow {
                    len,
                    left: after.len(),
                });
            }
            let (body, after) = after.split_at(usize::from(len));
            if next == EXT_SACK && sack.is_none() {
                sack = Some(SelectiveAck::new(body).ok_or(DecodeError::BadSackLength(len))?);
            }
            next = kind;
            rest = after;
        }
        Ok(Self {
            header,
            sack,
            payload: rest,
        })
    }

    /// Bytes [`encode`](Self::encode) writes.
    pub fn encoded_len(&self) -> usize {
        HEADER_LEN + self.sack.map_or(0, |s| 2 + s.bitmask.len()) + self.payload.len()
    }

    /// Writes the packet at the start of `out`, returning its length.
    pub fn encode(&self, out: &mut [u8]) -> Result<usize, BufferTooSmall> {
        let need = self.encoded_len();
        if out.len() < need {
            return Err(BufferTooSmall {
                need,
                have: out.len(),
            });
        }
        let at = encode_header(&self.header, self.sack.map(|s| s.bitmask), out);
        out[at..need].copy_from_slice(self.payload);
        Ok(need)
    }
}

/// Writes the header and the SACK extension (if any) at the start of `out`, returning
/// their length. `out` must hold them (the callers check).
pub(crate) fn encode_header(h: &Header, sack: Option<&[u8]>, out: &mut [u8]) -> usize {
    out[0] = ((h.packet_type as u8) << 4) | VERSION;
    out[1] = if sack.is_some() { EXT_SACK } else { 0 };
    out[2..4].copy_from_slice(&h.connection_id.to_be_bytes());
    out[4..8].copy_from_slice(&h.timestamp_us.to_be_bytes());
    out[8..12].copy_from_slice(&h.timestamp_diff_us.to_be_bytes());
    out[12..16].copy_from_slice(&h.wnd_size.to_be_bytes());
    out[16..18].copy_from_slice(&h.seq_nr.to_be_bytes());
    out[18..20].copy_from_slice(&h.ack_nr.to_be_bytes());
    match sack {
        None => HEADER_LEN,
        Some(mask) => {
            out[20] = 0; // end of the chain
            out[21] = mask.len() as u8; // at most MAX_SACK_LEN
            out[22..22 + mask.len()].copy_from_slice(mask);
            22 + mask.len()
        }
    }
}

#[cfg(test)]
mod tests;
