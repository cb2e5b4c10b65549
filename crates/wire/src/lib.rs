//! The BitTorrent peer-wire codec: handshake, length-prefixed messages (BEP 3, BEP 6), the
//! BEP 10 extension envelope and the payloads of ut_metadata (BEP 9) and ut_pex (BEP 11).
//!
//! Pure: bytes in, messages out. Block payloads are zero-copy `Bytes` slices of the receive buffer.

pub mod message;

pub use message::{BlockInfo, Message};
