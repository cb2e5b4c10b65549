//! Bencode (BEP 3) for shoal: a strict, zero-copy decoder and a canonical encoder.
//!
//! Decoding borrows from the input: byte strings are slices, and every dictionary keeps the
//! exact input span it was parsed from ([`Dict::raw`]), so the info-hash can be computed over
//! the original bytes of a torrent's `info` dictionary rather than over a re-encoding.
//!
//! - [`decode()`] parses a whole buffer (trailing bytes are an error); [`decode_prefix`] parses
//!   one value and reports how many bytes it used (ut_metadata pieces carry raw data after the
//!   dictionary).
//! - [`Owned`] builds values to send; [`Owned::encode`] always writes dictionary keys sorted.
//!
//! The decoder refuses malformed integers (leading zeros, `-0`, overflow), bad lengths,
//! truncated input and nesting deeper than [`MAX_DEPTH`]. It accepts dictionaries whose keys
//! are unsorted or repeated, as real torrents contain them; [`Dict::get`] returns the first
//! match.
//!
//! ```
//! use shoal_bencode::{decode, Owned};
//!
//! // Build and encode: keys come out sorted whatever order they were added in.
//! let msg = Owned::dict().with("port", 6881).with("id", "abc").build();
//! let bytes = msg.encode();
//! assert_eq!(bytes, b"d2:id3:abc4:porti6881ee");
//!
//! // Decode: strings borrow from `bytes`, and the dictionary knows its own input span.
//! let value = decode(&bytes)?;
//! let dict = value.as_dict().expect("a dictionary");
//! assert_eq!(dict.get_int(b"port"), Some(6881));
//! assert_eq!(dict.get_str(b"id"), Some("abc"));
//! assert_eq!(dict.raw(), &bytes[..]);
//!
//! // Malformed input is an error that says where it went wrong (the digits after `i`).
//! assert_eq!(decode(b"i03e").unwrap_err(), shoal_bencode::Error::BadInt(1));
//! # Ok::<(), shoal_bencode::Error>(())
//! ```

#![warn(missing_docs, unreachable_pub)]
#![forbid(unsafe_code)]

mod decode;
mod error;
mod owned;
mod value;

pub use decode::{decode, decode_prefix, MAX_DEPTH};
pub use error::Error;
pub use owned::{DictBuilder, Owned};
pub use value::{Dict, Value};
