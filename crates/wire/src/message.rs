//! Peer-wire messages (BEP 3, BEP 6 fast extension, BEP 10 extension envelope).
//!
//! Indexes are raw `u32`s as they appear on the wire: the codec knows nothing of a torrent's
//! lengths, the engine validates them against its `Info`.

use bytes::Bytes;

/// A block request, cancel or reject: `length` bytes at `begin` within piece `index`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct BlockInfo {
    /// The piece, as an unchecked wire index.
    pub index: u32,
    /// Byte offset of the block within the piece.
    pub begin: u32,
    /// Length of the block in bytes (16 KiB for the blocks clients normally request).
    pub length: u32,
}

/// One length-prefixed peer-wire message after the handshake.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Message {
    /// An empty message (length 0) that only keeps an idle connection open.
    KeepAlive,
    /// The sender will not answer our requests until it unchokes us.
    Choke,
    /// The sender will now answer our requests.
    Unchoke,
    /// The sender wants pieces we have (and would request them once unchoked).
    Interested,
    /// The sender wants nothing we have.
    NotInterested,
    /// The sender now has this piece (unchecked wire index).
    Have(u32),
    /// Raw bitfield bytes, high bit of the first byte is piece 0.
    Bitfield(Bytes),
    /// Asks the receiver to send this block.
    Request(BlockInfo),
    /// Block payload; `data` is a zero-copy slice of the receive buffer.
    Piece {
        /// The piece the block belongs to.
        index: u32,
        /// Byte offset of the block within the piece.
        begin: u32,
        /// The block's bytes.
        data: Bytes,
    },
    /// Withdraws an earlier request (e.g. another peer delivered the block first).
    Cancel(BlockInfo),
    /// BEP 5: the UDP port of the sender's DHT node.
    Port(u16),
    /// BEP 6: the sender suggests downloading this piece (it has it in cache, say).
    Suggest(u32),
    /// BEP 6: the sender has every piece (replaces a full bitfield).
    HaveAll,
    /// BEP 6: the sender has no piece (replaces an empty bitfield).
    HaveNone,
    /// BEP 6: the sender will not serve this request; we may ask someone else.
    Reject(BlockInfo),
    /// BEP 6: we may request this piece even while the sender chokes us.
    AllowedFast(u32),
    /// BEP 10: `id` 0 is the extension handshake, others are ids we announced in our `m` dict.
    Extended {
        /// Which extension the payload is for (0: the extension handshake).
        id: u8,
        /// The extension's payload; decode it with the [`ext`](crate::ext) type for `id`.
        payload: Bytes,
    },
}

/// Message ids as they appear on the wire after the length prefix.
#[allow(missing_docs)] // each constant is the id of the `Message` variant of the same name
pub mod id {
    pub const CHOKE: u8 = 0;
    pub const UNCHOKE: u8 = 1;
    pub const INTERESTED: u8 = 2;
    pub const NOT_INTERESTED: u8 = 3;
    pub const HAVE: u8 = 4;
    pub const BITFIELD: u8 = 5;
    pub const REQUEST: u8 = 6;
    pub const PIECE: u8 = 7;
    pub const CANCEL: u8 = 8;
    pub const PORT: u8 = 9;
    pub const SUGGEST: u8 = 0x0D;
    pub const HAVE_ALL: u8 = 0x0E;
    pub const HAVE_NONE: u8 = 0x0F;
    pub const REJECT: u8 = 0x10;
    pub const ALLOWED_FAST: u8 = 0x11;
    pub const EXTENDED: u8 = 20;
}

impl Message {
    /// The wire id, or `None` for a keep-alive (which has none).
    pub fn id(&self) -> Option<u8> {
        Some(match self {
            Message::KeepAlive => return None,
            Message::Choke => id::CHOKE,
            Message::Unchoke => id::UNCHOKE,
            Message::Interested => id::INTERESTED,
            Message::NotInterested => id::NOT_INTERESTED,
            Message::Have(_) => id::HAVE,
            Message::Bitfield(_) => id::BITFIELD,
            Message::Request(_) => id::REQUEST,
            Message::Piece { .. } => id::PIECE,
            Message::Cancel(_) => id::CANCEL,
            Message::Port(_) => id::PORT,
            Message::Suggest(_) => id::SUGGEST,
            Message::HaveAll => id::HAVE_ALL,
            Message::HaveNone => id::HAVE_NONE,
            Message::Reject(_) => id::REJECT,
            Message::AllowedFast(_) => id::ALLOWED_FAST,
            Message::Extended { .. } => id::EXTENDED,
        })
    }
}
