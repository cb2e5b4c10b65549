//! uTP, the uTorrent transport protocol (BEP 29), with LEDBAT congestion control, as a
//! sans-IO state machine: reliable ordered byte streams over UDP datagrams that yield to
//! other traffic by keeping the queueing delay they cause near 100 ms.
//!
//! No sockets, clocks, threads or tokio: time comes in as `now`, randomness from
//! [`Config::seed`], datagrams in through [`Endpoint::handle_datagram`] and out through
//! [`Endpoint::poll_transmit`]. One [`Endpoint`] serves every connection of one UDP
//! socket, and tells the caller which datagrams are not uTP so that the DHT can share the
//! socket.
//!
//! # Modules
//!
//! - [`packet`]: the wire format (header, extension chain, selective ACK), decode and
//!   encode.
//! - `endpoint`: the multiplexer the runtime drives, by peer address and connection id.
//! - `conn`: one connection (`input`, `output`, `timer`), over `send` and `recv` (its
//!   buffers), `ledbat` (congestion window), `rtt` (timeout), `mtu` (packet size search),
//!   `seq` (wrapping sequence numbers).
//!
//! # The endpoint's contract
//!
//! [`Endpoint`] is driven; it never drives.
//!
//! - **Inputs**, each returning at once: [`handle_datagram`](Endpoint::handle_datagram)
//!   for every datagram the socket receives, [`handle_timeout`](Endpoint::handle_timeout)
//!   when the deadline passes, and the caller's own calls:
//!   [`connect`](Endpoint::connect), [`accept`](Endpoint::accept),
//!   [`refuse`](Endpoint::refuse), [`write`](Endpoint::write), [`read`](Endpoint::read),
//!   [`close`](Endpoint::close), [`reset`](Endpoint::reset).
//! - **Outputs** leave only through the polls: [`poll_transmit`](Endpoint::poll_transmit)
//!   writes the next datagram into the caller's buffer, [`poll_event`](Endpoint::poll_event)
//!   hands out [`Event`]s, [`poll_timeout`](Endpoint::poll_timeout) says when to call
//!   `handle_timeout` next.
//!
//! **The drain rule.** After any input (a batch of received datagrams counts as one: feed
//! them all, then drain, so one ACK answers the batch), call `poll_transmit` until `None`,
//! sending each datagram; `poll_event` until `None`, acting on each event (which may feed
//! inputs, such as `accept`, `read` or `write`: then drain again); then re-arm one timer
//! for `poll_timeout`. Calling `handle_timeout` early or twice does no harm.
//!
//! **Events.** [`Event::Incoming`] asks for `accept` or `refuse` (unanswered, the
//! connection is refused after [`Config::accept_timeout`]; at most
//! [`Config::max_half_open`] wait at a time, further SYNs are reset).
//! [`Event::Readable`] and [`Event::Writable`] are edge-triggered: after one, read (or
//! write) until [`StreamError::WouldBlock`]. [`Event::Closed`] is the last word on a
//! handle, except after `refuse` and `reset`, which end a handle without one.
//!
//! **Memory is bounded** by the configuration: per connection, the send buffer
//! ([`Config::send_buffer_size`], `write` takes no more) and the receive buffer
//! ([`Config::recv_buffer_size`], advertised to the peer as its window; bytes in order and
//! packets held out of order are each kept within it, a peer that sends past it has the
//! excess dropped); per endpoint, [`Config::max_connections`] and 64 owed resets. A
//! receiver that never reads makes the sender stall, nothing grows.
//!
//! **Cost per packet.** In the steady state no packet allocates: written bytes are copied
//! once into the send buffer (which grows in 64 KiB steps) and sliced into packets as
//! `Bytes`, each datagram is encoded straight into the caller's buffer, and payloads
//! received in order are copied once into the receive buffer. Only packets that arrive
//! out of order get their own allocation. `poll_timeout` and `handle_timeout` scan the
//! connections (fine for the hundreds a BitTorrent client holds).
//!
//! # Interoperability
//!
//! Packets are at most [`Config::max_packet_size`] bytes (1,452 by default: Ethernet minus
//! IPv6 and UDP headers). libtorrent 2.0 receives into a 1,500-byte buffer and drops longer
//! datagrams, and itself sends at most 1,472 (IPv4) or 1,452 (IPv6); only a peer known to
//! be shoal should be given more, connection by connection
//! ([`Endpoint::set_max_packet_size`]; on loopback, 65,000-byte datagrams move 1 GiB at
//! twice the rate and a third of the CPU of 1,452-byte ones). The first packet size is 1,400; a
//! DPLPMTUD-like search probes up to the maximum with don't-fragment probes whose loss
//! does not cut the window (see [`Transmit::dont_fragment`]). Selective ACKs are sent
//! while packets are held out of order (up to 32 bytes of mask) and accepted of any length
//! (libtorrent's are `ceil(span / 8)` bytes, not BEP 29's multiple of 4), resets are
//! matched on either connection id (as libutp), keep-alives go every 29 s. Tested against
//! libtorrent 2.0.8 in both directions and Transmission 3.00 (libutp) seeding
//! (`crates/utp/interop/`).
//!
//! # Example: two endpoints and a toy driver
//!
//! The "network" is a queue of datagrams; time jumps to the next deadline whenever no
//! datagram is in flight. A real runtime is the same loop in one task that owns the
//! `UdpSocket` and the `Endpoint`:
//!
//! ```text
//! loop {
//!     select! {
//!         r = socket.recv_from(&mut rx) => {          // rx: 65,536 bytes, for any peer
//!             feed it, then try_recv_from until WouldBlock (one batch, one ACK);
//!             NotUtp datagrams go to the DHT
//!         }
//!         _ = sleep_until(endpoint.poll_timeout()) => endpoint.handle_timeout(now),
//!         cmd = from_peer_tasks.recv() => connect / write / read / close,
//!     }
//!     while let Some(t) = endpoint.poll_transmit(now, &mut tx) { send_to(t.dest) }
//!     while let Some(e) = endpoint.poll_event() { wake the peer task concerned }
//! }
//! ```
//!
//! Size the socket's buffers generously (4 MiB): a window's worth of datagrams arrives in
//! one burst, and the default 208 KiB drops them on loopback.
//!
//! ```
//! use shoal_utp::{Config, Datagram, Endpoint, Event};
//! use std::collections::VecDeque;
//! use std::net::SocketAddr;
//! use std::time::{Duration, Instant};
//!
//! let (a_addr, b_addr): (SocketAddr, SocketAddr) =
//!     ("10.0.0.1:6881".parse().unwrap(), "10.0.0.2:6881".parse().unwrap());
//! let mut now = Instant::now();
//! let mut a = Endpoint::new(Config { seed: 1, ..Config::default() }, now);
//! let mut b = Endpoint::new(Config { seed: 2, ..Config::default() }, now);
//! let message = vec![7u8; 100_000];
//!
//! // A dials B and writes what fits; B accepts and reads.
//! let conn = a.connect(now, b_addr).unwrap();
//! let mut written = a.write(conn, &message).unwrap();
//! let mut received = Vec::new();
//!
//! let mut wire: VecDeque<(SocketAddr, SocketAddr, Vec<u8>)> = VecDeque::new();
//! let mut buf = vec![0u8; a.config().max_packet_size];
//! for _ in 0..10_000 {
//!     // Drain both endpoints: datagrams onto the wire, events acted on.
//!     for (ep, me) in [(&mut a, a_addr), (&mut b, b_addr)] {
//!         while let Some(t) = ep.poll_transmit(now, &mut buf) {
//!             wire.push_back((me, t.dest, buf[..t.len].to_vec()));
//!         }
//!         while let Some(event) = ep.poll_event() {
//!             match event {
//!                 Event::Incoming(h, _from) => ep.accept(h).unwrap(),
//!                 Event::Readable(h) => {
//!                     let mut chunk = [0u8; 4096];
//!                     while let Ok(n @ 1..) = ep.read(h, &mut chunk) {
//!                         received.extend_from_slice(&chunk[..n]);
//!                     }
//!                 }
//!                 Event::Writable(h) => {
//!                     written += ep.write(h, &message[written..]).unwrap_or(0);
//!                 }
//!                 Event::Connected(_) | Event::Closed(..) => {}
//!             }
//!         }
//!     }
//!     if received.len() == message.len() {
//!         break;
//!     }
//!     // Deliver one datagram (1 ms later), or jump to the next deadline.
//!     if let Some((from, to, data)) = wire.pop_front() {
//!         now += Duration::from_millis(1);
//!         let ep = if to == a_addr { &mut a } else { &mut b };
//!         assert_eq!(ep.handle_datagram(now, from, &data), Datagram::Utp);
//!     } else if let Some(t) = a.poll_timeout().into_iter().chain(b.poll_timeout()).min() {
//!         now = now.max(t);
//!         a.handle_timeout(now);
//!         b.handle_timeout(now);
//!     }
//! }
//! assert_eq!(received, message);
//! // A DHT message on the same socket is not uTP.
//! assert_eq!(a.handle_datagram(now, b_addr, b"d1:ad2:id20:"), Datagram::NotUtp);
//! ```

#![forbid(unsafe_code)]
#![warn(missing_docs, unreachable_pub)]

mod config;
mod conn;
mod endpoint;
mod event;
mod ledbat;
mod mtu;
pub mod packet;
mod recv;
mod rng;
mod rtt;
mod send;
mod seq;

pub use config::Config;
pub use endpoint::Endpoint;
pub use event::{
    CloseReason, ConnectError, ConnectionHandle, ConnectionStats, Datagram, Event, StreamError,
    Transmit,
};
pub use packet::DecodeError;
