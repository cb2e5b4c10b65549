//! The one error type of the wire layer. Any of these means the peer sent something we cannot
//! parse; the caller closes that peer's connection (after a framing error the byte stream is
//! out of sync and cannot be resumed).

use thiserror::Error;

#[derive(Debug, Clone, PartialEq, Eq, Error)]
pub enum WireError {
    #[error("bad handshake: {0}")]
    BadHandshake(&'static str),
    /// Deliberately an error rather than a skipped message: every id we do not know is one we
    /// never advertised support for, so a peer sending it is broken or hostile.
    #[error("unknown message id {0}")]
    UnknownMessageId(u8),
    #[error("bad length {len} for message id {id}")]
    BadLength { id: u8, len: u32 },
    #[error("message of {len} bytes is longer than the limit of {max} bytes")]
    MessageTooLong { len: u32, max: u32 },
    #[error("bad bencode in extension message: {0}")]
    BadBencode(#[from] shoal_bencode::Error),
    #[error("bad extension message: {0}")]
    BadExtension(&'static str),
    /// BEP 9 says unknown ut_metadata message types MUST be ignored: callers should drop the
    /// message, not the peer.
    #[error("unknown ut_metadata msg_type {0}")]
    UnknownMetadataMsgType(i64),
}
