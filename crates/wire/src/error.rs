//! The one error type of the wire layer. Any of these means the peer sent something we cannot
//! parse; the caller closes that peer's connection (after a framing error the byte stream is
//! out of sync and cannot be resumed).

use thiserror::Error;

/// Why bytes from a peer could not be decoded; the text says what was wrong.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
pub enum WireError {
    /// The 68-byte handshake is the wrong length or does not name the BitTorrent protocol.
    #[error("bad handshake: {0}")]
    BadHandshake(&'static str),
    /// Deliberately an error rather than a skipped message: every id we do not know is one we
    /// never advertised support for, so a peer sending it is broken or hostile.
    #[error("unknown message id {0}")]
    UnknownMessageId(u8),
    /// A message whose length does not fit its id (e.g. a HAVE that is not 5 bytes).
    #[error("bad length {len} for message id {id}")]
    BadLength {
        /// The message id.
        id: u8,
        /// The length prefix the peer sent (id byte included).
        len: u32,
    },
    /// A length prefix above the decoder's limit ([`MAX_MESSAGE_LEN`](crate::MAX_MESSAGE_LEN)
    /// by default); refused before any of the message is buffered.
    #[error("message of {len} bytes is longer than the limit of {max} bytes")]
    MessageTooLong {
        /// The length prefix the peer sent.
        len: u32,
        /// The largest length accepted.
        max: u32,
    },
    /// An extension message's dictionary is not valid bencode.
    #[error("bad bencode in extension message: {0}")]
    BadBencode(#[from] shoal_bencode::Error),
    /// An extension message is valid bencode but misses a field or has one of the wrong type.
    #[error("bad extension message: {0}")]
    BadExtension(&'static str),
    /// BEP 9 says unknown ut_metadata message types MUST be ignored: callers should drop the
    /// message, not the peer.
    #[error("unknown ut_metadata msg_type {0}")]
    UnknownMetadataMsgType(i64),
    /// A ut_holepunch payload (BEP 55) cut short or naming an unknown address type.
    #[error("bad ut_holepunch message: {0}")]
    BadHolepunch(&'static str),
    /// A ut_holepunch message type BEP 55 does not define; like unknown ut_metadata types,
    /// the message is dropped, not the peer (a later revision may add types).
    #[error("unknown ut_holepunch msg_type {0}")]
    UnknownHolepunchMsgType(u8),
}
