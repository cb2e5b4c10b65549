//! The endpoint's settings, with defaults safe on any Ethernet path and towards every
//! other uTP implementation.

use std::time::Duration;

/// Settings of an [`Endpoint`](crate::Endpoint) and of every connection it holds.
#[derive(Debug, Clone)]
pub struct Config {
    /// Seed of the connection ids and initial sequence numbers. Give each endpoint a
    /// different, unpredictable seed in production; tests give a fixed one to repeat runs.
    pub seed: u64,
    /// Largest datagram (uTP header included) a connection may send: the ceiling of the
    /// path-MTU search. The default, 1,452, is a 1,500-byte Ethernet MTU minus IPv6 (40)
    /// and UDP (8) headers, so it fits both families. Buffers given to
    /// [`poll_transmit`](crate::Endpoint::poll_transmit) must hold this many bytes.
    ///
    /// Do not raise it above 1,500 for peers that may be libtorrent: libtorrent 2.0 reads
    /// datagrams into a 1,500-byte buffer and drops anything longer. A runtime that knows
    /// a peer is shoal on loopback can raise it for that connection alone
    /// ([`Endpoint::set_max_packet_size`](crate::Endpoint::set_max_packet_size), up to
    /// 65,507).
    pub max_packet_size: usize,
    /// Datagram size a new connection starts with, before probing (clamped to
    /// `min_packet_size..=max_packet_size`).
    pub initial_packet_size: usize,
    /// Smallest datagram size the MTU search falls back to: 576 (IPv4's minimum
    /// reassembly size) minus IPv4 and UDP headers.
    pub min_packet_size: usize,
    /// Whether to probe for a larger packet size than `initial_packet_size`, up to
    /// `max_packet_size`. Probes ask for the don't-fragment bit
    /// ([`Transmit::dont_fragment`](crate::Transmit::dont_fragment)); a runtime that
    /// cannot set it should turn probing off, since probes would then always pass (by
    /// fragmentation).
    pub mtu_probing: bool,
    /// Bytes a connection buffers for sending (written but not yet acknowledged).
    /// [`write`](crate::Endpoint::write) takes no more: the backpressure.
    pub send_buffer_size: usize,
    /// Bytes a connection buffers on receipt (in order but unread, plus out of order).
    /// It is the window advertised to the peer, so a receiver that never reads holds at
    /// most this much.
    pub recv_buffer_size: usize,
    /// Incoming connections not yet accepted or refused; SYNs beyond it are answered with
    /// a reset.
    pub max_half_open: usize,
    /// Connections in all; SYNs beyond it are reset and `connect` fails.
    pub max_connections: usize,
    /// SYN retransmissions before a connect fails (libtorrent: 2, so 3 SYNs over 7 s).
    pub syn_retries: u32,
    /// Timeouts in a row without progress before a connection is dropped.
    pub max_timeouts: u32,
    /// Quiet time after which a connection sends an empty ACK, so NAT mappings stay open
    /// (libutp and libtorrent use 29 s).
    pub keepalive_interval: Duration,
    /// Time without receiving anything after which a connection is dropped.
    pub idle_timeout: Duration,
    /// Time an incoming connection waits for `accept` or `refuse`.
    pub accept_timeout: Duration,
    /// LEDBAT's target queueing delay (BEP 29, RFC 6817: 100 ms).
    pub target_delay: Duration,
    /// LEDBAT's gain: the most the window grows per round trip, in bytes (libtorrent's
    /// and libutp's 3,000).
    pub gain_bytes_per_rtt: u32,
    /// Grow the window exponentially at first, as libtorrent does, until the queueing
    /// delay reaches half the target or a packet is lost. Without it a new connection
    /// needs minutes to fill a fast long path at 3,000 bytes per round trip.
    pub slow_start: bool,
    /// Hold back a packet that is not full while earlier data is unacknowledged (Nagle):
    /// fewer, fuller packets for small writes, at the cost of up to one round trip of
    /// latency for the last bytes of a burst.
    pub nagle: bool,
}

impl Default for Config {
    fn default() -> Self {
        Self {
            seed: 0,
            max_packet_size: 1452,
            initial_packet_size: 1400,
            min_packet_size: 548,
            mtu_probing: true,
            send_buffer_size: 1 << 20,
            recv_buffer_size: 1 << 20,
            max_half_open: 64,
            max_connections: 4096,
            syn_retries: 2,
            max_timeouts: 6,
            keepalive_interval: Duration::from_secs(29),
            idle_timeout: Duration::from_secs(300),
            accept_timeout: Duration::from_secs(10),
            target_delay: Duration::from_millis(100),
            gain_bytes_per_rtt: 3000,
            slow_start: true,
            nagle: true,
        }
    }
}
