//! Decoding errors; each names the byte offset where decoding stopped.

/// Why a buffer is not valid bencode.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum Error {
    /// The input stops in the middle of a value (truncated data).
    #[error("bencode ends early at byte {0}")]
    Eof(usize),
    /// A byte that cannot start or continue a value at this point.
    #[error("unexpected byte 0x{byte:02x} at byte {offset}")]
    Unexpected {
        /// Where the byte is in the input.
        offset: usize,
        /// The byte that was found.
        byte: u8,
    },
    /// An `i...e` integer that is empty, has a leading zero, is `-0` or overflows `i64`.
    #[error("invalid integer at byte {0} (empty, leading zero, -0 or out of range)")]
    BadInt(usize),
    /// A byte-string length prefix that is empty, has a leading zero or overflows `usize`.
    #[error("invalid byte-string length at byte {0}")]
    BadLength(usize),
    /// A dictionary key that is an integer, list or dictionary instead of a byte string.
    #[error("dictionary key at byte {0} is not a byte string")]
    KeyNotBytes(usize),
    /// Lists and dictionaries nested deeper than [`MAX_DEPTH`](crate::MAX_DEPTH).
    #[error("nesting deeper than {max} levels at byte {0}", max = crate::MAX_DEPTH)]
    TooDeep(usize),
    /// [`decode`](crate::decode()) found bytes after the one value the buffer should hold.
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
