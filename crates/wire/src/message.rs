//! Peer-wire messages (BEP 3, BEP 6 fast extension, BEP 10 extension envelope).
//!
//! Indexes are raw `u32`s as they appear on the wire: the codec knows nothing of a torrent's
//! lengths, the engine validates them against its `Info`.

use bytes::Bytes;

/// A block request, cancel or reject: `length` bytes at `begin` within piece `index`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct BlockInfo {
    pub index: u32,
    pub begin: u32,
    pub length: u32,
}

/// One length-prefixed peer-wire message after the handshake.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Message {
    KeepAlive,
    Choke,
    Unchoke,
    Interested,
    NotInterested,
    Have(u32),
    /// Raw bitfield bytes, high bit of the first byte is piece 0.
    Bitfield(Bytes),
    Request(BlockInfo),
    /// Block payload; `data` is a zero-copy slice of the receive buffer.
    Piece { index: u32, begin: u32, data: Bytes },
    Cancel(BlockInfo),
    /// BEP 5 DHT port.
    Port(u16),
    /// BEP 6.
    Suggest(u32),
    HaveAll,
    HaveNone,
    Reject(BlockInfo),
    AllowedFast(u32),
    /// BEP 10: `id` 0 is the extension handshake, others are ids we announced in our `m` dict.
    Extended { id: u8, payload: Bytes },
}
