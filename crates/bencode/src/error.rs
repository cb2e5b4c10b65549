//! Decoding errors; each names the byte offset where decoding stopped.

/// Why a buffer is not valid bencode.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum Error {
    #[error("bencode ends early at byte {0}")]
    Eof(usize),
    #[error("unexpected byte 0x{byte:02x} at byte {offset}")]
    Unexpected { offset: usize, byte: u8 },
    #[error("invalid integer at byte {0} (empty, leading zero, -0 or out of range)")]
    BadInt(usize),
    #[error("invalid byte-string length at byte {0}")]
    BadLength(usize),
    #[error("dictionary key at byte {0} is not a byte string")]
    KeyNotBytes(usize),
    #[error("nesting deeper than {max} levels at byte {0}", max = crate::MAX_DEPTH)]
    TooDeep(usize),
    #[error("trailing data after the value at byte {0}")]
    Trailing(usize),
}

impl Error {
    /// Byte offset into the input where the problem was found.
    pub fn offset(&self) -> usize {
        match *self {
            Error::Eof(o)
            | Error::Unexpected { offset: o, .. }
            | Error::BadInt(o)
            | Error::BadLength(o)
            | Error::KeyNotBytes(o)
            | Error::TooDeep(o)
            | Error::Trailing(o) => o,
        }
    }
}
