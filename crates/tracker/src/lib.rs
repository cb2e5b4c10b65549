//! The tracker protocol for shoal, without any I/O: no sockets, no clocks, no runtime.
//! Times come in as [`std::time::Instant`]s and byte buffers go in and out; the session
//! crate does the networking.
//!
//! - [`url`]: what an announce URL names (scheme, host, port), percent-encoding.
//! - [`http`]: BEP 3 announce URLs and replies (compact peers BEP 23, `peers6` BEP 7),
//!   BEP 48 scrape URLs and replies.
//! - [`http_response`]: the HTTP/1.1 framing of a tracker's answer (status line, headers,
//!   `Content-Length` or chunked body, size limits), fed the bytes the session reads.
//! - [`udp`]: BEP 15 packets and [`udp::UdpSession`], one tracker's connect/announce/scrape
//!   exchange with the spec's retransmit timing and connection-id reuse.
//! - [`announcer`]: [`Announcer`], which tracker of which BEP 12 tier to contact next, with
//!   which event, and when.
//!
//! Everything read from the network is bounded: at most [`MAX_PEERS`] peers are taken from
//! one reply, strings are cut to [`MAX_MESSAGE`] characters, and malformed input is a typed
//! [`TrackerError`], never a panic.
//!
//! An HTTP announce: the caller fetches the URL and hands the body back.
//!
//! ```
//! use shoal_tracker::{http, AnnounceParams, Event};
//!
//! let params = AnnounceParams {
//!     info_hash: [0xab; 20],
//!     peer_id: *b"-SH0100-abcdefghijkl",
//!     port: 6881,
//!     uploaded: 0,
//!     downloaded: 0,
//!     left: 1 << 20,
//!     event: Event::Started,
//!     numwant: None,
//!     key: 7,
//! };
//! let url = http::announce_url("http://tracker.example/announce", &params, None);
//! assert!(url.starts_with("http://tracker.example/announce?info_hash=%AB%AB"));
//! assert!(url.contains("&event=started"));
//!
//! // A compact reply: one peer, 127.0.0.1:6882, and a 30-minute interval.
//! let body = b"d8:intervali1800e5:peers6:\x7f\x00\x00\x01\x1a\xe2e";
//! let reply = http::parse_announce(body)?;
//! assert_eq!(reply.peers, ["127.0.0.1:6882".parse().unwrap()]);
//! assert_eq!(reply.interval, Some(std::time::Duration::from_secs(1800)));
//! # Ok::<(), shoal_tracker::TrackerError>(())
//! ```
//!
//! A UDP tracker is driven like the engine: [`udp::UdpSession::start`] a request, send what
//! [`udp::UdpSession::poll_transmit`] returns, feed replies to
//! [`udp::UdpSession::handle_datagram`] and call [`udp::UdpSession::handle_timeout`] at
//! [`udp::UdpSession::poll_timeout`]; either returns the [`udp::UdpOutcome`] once there is one.

#![warn(missing_docs, unreachable_pub)]
#![forbid(unsafe_code)]

pub mod announcer;
mod error;
pub mod http;
pub mod http_response;
mod peers;
pub mod udp;
pub mod url;

pub use announcer::{Announcer, AnnouncerConfig, Due};
pub use error::TrackerError;
pub use peers::MAX_PEERS;

use std::net::SocketAddr;
use std::time::Duration;

/// Longest failure or warning message kept from a tracker, in characters.
pub const MAX_MESSAGE: usize = 200;

/// The announce event (BEP 3).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Event {
    /// A regular re-announce.
    None,
    /// The first announce of a download or seed: the tracker starts counting us.
    Started,
    /// Sent once when the download finishes (not when starting as a seed).
    Completed,
    /// We are leaving the swarm: the tracker should stop handing out our address.
    Stopped,
}

impl Event {
    /// The HTTP `event` value; `None` for a regular announce, which omits the parameter.
    pub fn http_name(self) -> Option<&'static str> {
        match self {
            Event::None => None,
            Event::Started => Some("started"),
            Event::Completed => Some("completed"),
            Event::Stopped => Some("stopped"),
        }
    }

    /// The BEP 15 event code.
    pub fn udp_code(self) -> u32 {
        match self {
            Event::None => 0,
            Event::Completed => 1,
            Event::Started => 2,
            Event::Stopped => 3,
        }
    }
}

/// What an announce tells the tracker.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AnnounceParams {
    /// The torrent we announce.
    pub info_hash: [u8; 20],
    /// Our peer id, as sent in handshakes.
    pub peer_id: [u8; 20],
    /// Our TCP listening port.
    pub port: u16,
    /// Bytes of payload uploaded to peers since the `started` announce.
    pub uploaded: u64,
    /// Bytes of payload downloaded from peers since the `started` announce.
    pub downloaded: u64,
    /// Bytes still missing before we have the whole torrent (0 for a seed).
    pub left: u64,
    /// Why we announce now.
    pub event: Event,
    /// How many peers we would like; trackers pick their own default when `None`.
    pub numwant: Option<u32>,
    /// Random per-session value so the tracker recognises us across address changes.
    pub key: u32,
}

/// A tracker's successful answer to an announce, HTTP or UDP alike.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct AnnounceReply {
    /// Seconds the tracker wants between regular announces.
    pub interval: Option<Duration>,
    /// The tracker refuses announces more frequent than this.
    pub min_interval: Option<Duration>,
    /// Seeders the tracker knows of.
    pub complete: Option<u32>,
    /// Leechers (peers still downloading) the tracker knows of.
    pub incomplete: Option<u32>,
    /// The tracker's `warning message`, one line.
    pub warning: Option<String>,
    /// HTTP trackers may send this back to be echoed in later announces.
    pub tracker_id: Option<Vec<u8>>,
    /// IPv4 and IPv6 peers, at most [`MAX_PEERS`], without duplicates or port 0.
    pub peers: Vec<SocketAddr>,
}

/// Swarm counters from a scrape (BEP 48, BEP 15).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct ScrapeStats {
    /// Peers with the whole torrent.
    pub seeders: u32,
    /// Peers still downloading.
    pub leechers: u32,
    /// Downloads ever completed.
    pub completed: u32,
}

/// Makes a tracker's text safe to print on one line and bounded in length.
pub(crate) fn one_line(raw: &[u8]) -> String {
    let text = String::from_utf8_lossy(raw);
    let mut out = String::new();
    for c in text.chars().take(MAX_MESSAGE) {
        out.push(if c.is_control() { ' ' } else { c });
    }
    if text.chars().count() > MAX_MESSAGE {
        out.push('…');
    }
    out.trim().to_string()
}
