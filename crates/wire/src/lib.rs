//! The BitTorrent peer-wire codec: handshake, length-prefixed messages (BEP 3, BEP 6), the
//! BEP 10 extension envelope and the payloads of ut_metadata (BEP 9), ut_pex (BEP 11) and
//! ut_holepunch (BEP 55).
//!
//! Pure: bytes in, messages out. Block payloads are zero-copy `Bytes` slices of the receive buffer.
//!
//! Driving it: exchange [`Handshake`]s (68 bytes each way), then feed received bytes into a
//! `BytesMut` and call [`Decoder::decode`] until it returns `Ok(None)`; send with
//! [`Message::encode`] (or [`Message::piece_header`] plus the block for vectored writes).
//! A [`Message::Extended`] payload is decoded with the [`ext`] types according to its id.
//! Any [`WireError`] means the peer is broken or hostile: close that connection.
//!
//! ```
//! use bytes::BytesMut;
//! use shoal_core::{InfoHash, PeerId};
//! use shoal_wire::{BlockInfo, Decoder, Handshake, Message};
//!
//! // The handshake: 68 bytes each way, then messages.
//! let ours = Handshake::new(InfoHash([1; 20]), PeerId([2; 20]));
//! let theirs = Handshake::decode(&ours.encode())?;
//! assert!(theirs.supports_fast() && theirs.supports_extensions());
//!
//! // Two messages arrive in one read; the decoder takes them one at a time.
//! let request = Message::Request(BlockInfo { index: 3, begin: 16384, length: 16384 });
//! let mut received = BytesMut::new();
//! Message::Interested.encode(&mut received);
//! request.encode(&mut received);
//! let mut decoder = Decoder::default();
//! assert_eq!(decoder.decode(&mut received)?, Some(Message::Interested));
//! assert_eq!(decoder.decode(&mut received)?, Some(request));
//! assert_eq!(decoder.decode(&mut received)?, None); // wait for more bytes
//! # Ok::<(), shoal_wire::WireError>(())
//! ```

#![warn(missing_docs, unreachable_pub)]
#![forbid(unsafe_code)]

pub mod codec;
pub mod error;
pub mod ext;
pub mod handshake;
pub mod message;

pub use codec::{Decoder, MAX_MESSAGE_LEN};
pub use error::WireError;
pub use handshake::Handshake;
pub use message::{BlockInfo, Message};
