//! Formats of peer discovery for shoal, without any I/O: the bytes that go on the wire or
//! into a file, built and parsed; the session crate owns the sockets, files and timers.
//!
//! - [`lsd`]: Local Service Discovery (BEP 14) announce datagrams.
//! - [`dht_state`]: the file in which the DHT's good nodes are kept between runs.
//!
//! Both read input anyone can write (a datagram from the LAN, a file on disk), so parsing
//! never panics and its cost and output are bounded by the limits each module states.

#![forbid(unsafe_code)]
#![warn(missing_docs, unreachable_pub)]

pub mod dht_state;
pub mod lsd;
