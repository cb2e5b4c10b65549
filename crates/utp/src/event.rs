//! What the endpoint hands out and answers: handles, events, datagrams to send, errors.

use std::net::SocketAddr;
use std::time::Duration;
use thiserror::Error;

/// Names one connection of an [`Endpoint`](crate::Endpoint); never reused by it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct ConnectionHandle(pub(crate) u64);

impl ConnectionHandle {
    /// The number behind the handle, for logs.
    pub fn index(self) -> u64 {
        self.0
    }
}

/// Something the caller should know, from [`poll_event`](crate::Endpoint::poll_event).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Event {
    /// A connection we opened is established: it can be written to.
    Connected(ConnectionHandle),
    /// A peer opens a connection. Answer with [`accept`](crate::Endpoint::accept) or
    /// [`refuse`](crate::Endpoint::refuse); unanswered, it is refused after
    /// `accept_timeout`.
    Incoming(ConnectionHandle, SocketAddr),
    /// Bytes (or the end of the stream) can be read. Sent once; again only after a read
    /// has emptied the buffer.
    Readable(ConnectionHandle),
    /// A write that was refused or cut short can go on: at least a quarter of the send
    /// buffer is free.
    Writable(ConnectionHandle),
    /// The connection is gone; the handle is dead. Bytes still unread are lost.
    Closed(ConnectionHandle, CloseReason),
}

/// Why a connection ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Error)]
pub enum CloseReason {
    /// Both sides sent FIN and every byte was acknowledged (or we closed and the peer
    /// acknowledged our FIN but never sent its own within the linger time).
    #[error("closed")]
    Finished,
    /// The peer sent a reset (also its answer to a SYN it refuses).
    #[error("reset by peer")]
    Reset,
    /// No answer: the SYNs, or data retransmitted `max_timeouts` times, or nothing heard
    /// for `idle_timeout`.
    #[error("timed out")]
    TimedOut,
    /// An incoming connection not accepted within `accept_timeout`.
    #[error("not accepted in time")]
    NotAccepted,
}

/// A datagram to send, written by [`poll_transmit`](crate::Endpoint::poll_transmit) into
/// the caller's buffer.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Transmit {
    /// Where to send it.
    pub dest: SocketAddr,
    /// Its length, from the start of the buffer.
    pub len: usize,
    /// An MTU probe: send it with the don't-fragment bit (`IP_PMTUDISC_DO`) if the
    /// socket can; ordinary packets may be fragmented.
    pub dont_fragment: bool,
}

/// What [`handle_datagram`](crate::Endpoint::handle_datagram) made of a datagram.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Datagram {
    /// A uTP packet, handled (or dropped as stale).
    Utp,
    /// Not uTP (the first byte is not version 1 with a known type): for whoever else
    /// shares the socket, such as the DHT, whose messages start with `d`.
    NotUtp,
    /// Looked like uTP but is malformed; dropped.
    Malformed(crate::DecodeError),
}

/// Why a stream operation failed.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Error)]
pub enum StreamError {
    /// Nothing to read yet, or no room to write: wait for `Readable` or `Writable`.
    #[error("would block")]
    WouldBlock,
    /// Not possible in this state (writing before the connection is up or after
    /// `close`, accepting an outgoing connection).
    #[error("not possible in this state of the connection")]
    InvalidState,
    /// No such connection (closed, or never one of this endpoint's).
    #[error("unknown connection")]
    UnknownConnection,
}

/// Why [`connect`](crate::Endpoint::connect) failed.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Error)]
pub enum ConnectError {
    /// `max_connections` are open.
    #[error("too many uTP connections")]
    TooManyConnections,
}

/// A snapshot of one connection's transport state, for logs and tests.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ConnectionStats {
    /// The peer.
    pub peer: SocketAddr,
    /// The congestion window, in bytes.
    pub cwnd: usize,
    /// Bytes of datagrams in flight.
    pub in_flight: usize,
    /// The peer's advertised window.
    pub peer_window: u32,
    /// The smoothed round-trip time, once measured.
    pub rtt: Option<Duration>,
    /// The current retransmission timeout.
    pub rto: Duration,
    /// LEDBAT's estimate of the queueing delay we cause, once measured.
    pub queueing_delay: Option<Duration>,
    /// Payload bytes held for sending: written, not yet acknowledged.
    pub send_buffered: usize,
    /// Payload bytes held on receipt: in order and unread, plus out of order.
    pub recv_buffered: usize,
    /// The datagram size in use (the MTU search's current answer).
    pub packet_size: usize,
    /// Packets sent again (timeouts, fast retransmits, selective-ACK holes).
    pub retransmits: u64,
    /// Timeouts of the retransmission timer.
    pub timeouts: u64,
}
