//! Bencode (BEP 3) for shoal: a strict, zero-copy decoder and a canonical encoder.
//!
//! Decoding borrows from the input: byte strings are slices, and every dictionary keeps the
//! exact input span it was parsed from ([`Dict::raw`]), so the info-hash can be computed over
//! the original bytes of a torrent's `info` dictionary rather than over a re-encoding.
//!
//! - [`decode`] parses a whole buffer (trailing bytes are an error); [`decode_prefix`] parses
//!   one value and reports how many bytes it used (ut_metadata pieces carry raw data after the
//!   dictionary).
//! - [`Owned`] builds values to send; [`Owned::encode`] always writes dictionary keys sorted.
//!
//! The decoder refuses malformed integers (leading zeros, `-0`, overflow), bad lengths,
//! truncated input and nesting deeper than [`MAX_DEPTH`]. It accepts dictionaries whose keys
//! are unsorted or repeated, as real torrents contain them; [`Dict::get`] returns the first
//! match.

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
