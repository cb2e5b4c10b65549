//! The endpoint: every uTP connection on one UDP socket, multiplexed by the peer's
//! address and the connection id, driven without I/O.

use crate::config::Config;
use crate::conn::{Conn, State};
use crate::event::{
    ConnectError, ConnectionHandle, ConnectionStats, Datagram, Event, StreamError, Transmit,
};
use crate::packet::{encode_header, looks_like_utp, Header, Packet, PacketType, HEADER_LEN};
use crate::rng::Rng;
use std::collections::{HashMap, VecDeque};
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Instant;

/// Resets owed to peers that sent packets for connections we do not have, at most; more
/// are not sent (they are a courtesy, and a flood of stray packets must not grow memory).
const MAX_STRAY_RESETS: usize = 64;

/// A reset owed to a stray packet.
#[derive(Debug, Clone, Copy)]
struct StrayReset {
    dest: SocketAddr,
    connection_id: u16,
    ack_nr: u16,
}

/// All the uTP connections of one UDP socket. See the [crate documentation](crate) for
/// the contract and a drive loop.
#[derive(Debug)]
pub struct Endpoint {
    cfg: Arc<Config>,
    /// Zero of the microsecond clock in packet timestamps.
    origin: Instant,
    rng: Rng,
    next_handle: u64,
    conns: HashMap<ConnectionHandle, Conn>,
    /// (peer, id on packets we receive) -> connection.
    routes: HashMap<(SocketAddr, u16), ConnectionHandle>,
    /// Connections that may have something to send, each once, in turn.
    ready: VecDeque<ConnectionHandle>,
    events: VecDeque<Event>,
    stray_resets: VecDeque<StrayReset>,
    /// Reused list of connections whose deadline passed.
    scratch: Vec<ConnectionHandle>,
}

impl Endpoint {
    /// An endpoint with no connections; `now` starts its packet clock.
    pub fn new(config: Config, now: Instant) -> Self {
        Self {
            rng: Rng::new(config.seed),
            cfg: Arc::new(config),
            origin: now,
            next_handle: 0,
            conns: HashMap::new(),
            routes: HashMap::new(),
            ready: VecDeque::new(),
            events: VecDeque::new(),
            stray_resets: VecDeque::new(),
            scratch: Vec::new(),
        }
    }

    /// The settings it runs with.
    pub fn config(&self) -> &Config {
        &self.cfg
    }

    /// Microseconds since `origin`, wrapping: the timestamps of our packets.
    fn micros(&self, now: Instant) -> u32 {
        now.saturating_duration_since(self.origin).as_micros() as u32
    }

    /// Opens a connection to `addr`; `Connected` follows once the peer answers (or
    /// `Closed` with [`TimedOut`](crate::CloseReason::TimedOut) or
    /// [`Reset`](crate::CloseReason::Reset)). Bytes may be written at once: they go out
    /// after the handshake.
    pub fn connect(
        &mut self,
        now: Instant,
        addr: SocketAddr,
    ) -> Result<ConnectionHandle, ConnectError> {
        if self.conns.len() >= self.cfg.max_connections {
            return Err(ConnectError::TooManyConnections);
        }
        // Both ids of the connection must be free with this peer.
        let recv_id = loop {
            let id = self.rng.next_u16();
            let taken = |id: u16| self.routes.contains_key(&(addr, id));
            if !taken(id) && !taken(id.wrapping_add(1)) && !taken(id.wrapping_sub(1)) {
                break id;
            }
        };
        let handle = self.new_handle();
        let seq = self.rng.next_u16();
        let conn = Conn::outgoing(handle, addr, recv_id, seq, self.cfg.clone(), now);
        self.routes.insert((addr, recv_id), handle);
        self.conns.insert(handle, conn);
        self.mark_ready(handle);
        Ok(handle)
    }

    fn new_handle(&mut self) -> ConnectionHandle {
        self.next_handle += 1;
        ConnectionHandle(self.next_handle)
    }

    /// Takes one datagram received on the socket from `from`. Returns
    /// [`Datagram::NotUtp`] for anything else sharing the socket (the DHT).
    pub fn handle_datagram(&mut self, now: Instant, from: SocketAddr, data: &[u8]) -> Datagram {
        if !looks_like_utp(data) {
            return Datagram::NotUtp;
        }
        let pkt = match Packet::decode(data) {
            Ok(p) => p,
            Err(e) => return Datagram::Malformed(e),
        };
        let h = pkt.header;
        let now_us = self.micros(now);
        let handle = match h.packet_type {
            PacketType::Syn => self.routes.get(&(from, h.connection_id.wrapping_add(1))),
            PacketType::Reset => self.route_reset(from, h.connection_id),
            _ => self.routes.get(&(from, h.connection_id)),
        }
        .copied();
        match handle {
            Some(handle) => {
                if let Some(conn) = self.conns.get_mut(&handle) {
                    conn.on_packet(now, now_us, &pkt, &mut self.events);
                }
                self.after(handle);
            }
            None if h.packet_type == PacketType::Syn => self.on_syn(now, now_us, from, &h),
            None if h.packet_type != PacketType::Reset => self.stray(from, &h),
            None => {}
        }
        Datagram::Utp
    }

    /// The connection a reset is for. Implementations disagree on which of the two ids a
    /// reset carries, so, as libutp does, both are tried.
    fn route_reset(&self, from: SocketAddr, id: u16) -> Option<&ConnectionHandle> {
        self.routes.get(&(from, id)).or_else(|| {
            [id.wrapping_add(1), id.wrapping_sub(1)]
                .into_iter()
                .find_map(|recv| {
                    let h = self.routes.get(&(from, recv))?;
                    (self.conns.get(h)?.send_id == id).then_some(h)
                })
        })
    }

    fn on_syn(&mut self, now: Instant, now_us: u32, from: SocketAddr, syn: &Header) {
        let half_open = self.conns.values().filter(|c| c.is_unaccepted()).count();
        if half_open >= self.cfg.max_half_open || self.conns.len() >= self.cfg.max_connections {
            tracing::debug!(peer = %from, "uTP SYN refused: too many connections");
            return self.stray(from, syn);
        }
        let handle = self.new_handle();
        let seq = self.rng.next_u16();
        let conn = Conn::incoming(handle, from, syn, seq, self.cfg.clone(), now, now_us);
        self.routes.insert((from, conn.recv_id), handle);
        self.conns.insert(handle, conn);
        self.events.push_back(Event::Incoming(handle, from));
    }

    /// Owes a reset to a packet for a connection we do not have.
    fn stray(&mut self, from: SocketAddr, h: &Header) {
        if self.stray_resets.len() < MAX_STRAY_RESETS {
            self.stray_resets.push_back(StrayReset {
                dest: from,
                connection_id: h.connection_id,
                ack_nr: h.seq_nr,
            });
        }
    }

    /// Accepts an incoming connection (from [`Event::Incoming`]): the SYN is answered and
    /// the connection can be read and written.
    pub fn accept(&mut self, handle: ConnectionHandle) -> Result<(), StreamError> {
        let r = self.conn(handle)?.accept();
        self.after(handle);
        r
    }

    /// Refuses an incoming connection: the peer gets a reset, the handle is dead, no
    /// `Closed` event follows.
    pub fn refuse(&mut self, handle: ConnectionHandle) {
        self.reset(handle);
    }

    /// Ends a connection at once: the peer gets a reset, unsent and unread bytes are
    /// dropped, the handle is dead, no `Closed` event follows.
    pub fn reset(&mut self, handle: ConnectionHandle) {
        if let Ok(c) = self.conn(handle) {
            c.abort();
            self.after(handle);
        }
    }

    /// Buffers bytes to send, returning how many were taken (fewer than offered when the
    /// send buffer fills). [`StreamError::WouldBlock`] when none: wait for
    /// [`Event::Writable`].
    pub fn write(&mut self, handle: ConnectionHandle, data: &[u8]) -> Result<usize, StreamError> {
        let r = self.conn(handle)?.write(data);
        self.after(handle);
        r
    }

    /// Reads received bytes, in order. `Ok(0)` is the end of the stream (the peer's FIN);
    /// [`StreamError::WouldBlock`] when nothing is buffered: wait for
    /// [`Event::Readable`]. Read until one of those before waiting.
    pub fn read(&mut self, handle: ConnectionHandle, buf: &mut [u8]) -> Result<usize, StreamError> {
        let r = self.conn(handle)?.read(buf);
        self.after(handle);
        r
    }

    /// Closes gracefully: what was written is sent, then a FIN. Reading may go on until
    /// the peer's FIN; [`Event::Closed`] follows once both FINs are acknowledged.
    pub fn close(&mut self, handle: ConnectionHandle) {
        if let Ok(c) = self.conn(handle) {
            c.close();
            self.after(handle);
        }
    }

    /// Sets the largest datagram one connection may send, in place of
    /// [`Config::max_packet_size`]: the MTU search then probes up to it (or the size drops
    /// to it). For a peer known to take more than the default, such as a shoal peer on
    /// loopback (65,000-byte datagrams there move 1 GiB with a third of the CPU of
    /// 1,452-byte ones); never for a peer that may be libtorrent, which drops datagrams
    /// over 1,500 bytes. Buffers given to [`poll_transmit`](Self::poll_transmit) must then
    /// hold `size` bytes.
    pub fn set_max_packet_size(
        &mut self,
        handle: ConnectionHandle,
        size: usize,
    ) -> Result<(), StreamError> {
        self.conn(handle)?.set_max_packet_size(size);
        Ok(())
    }

    /// Transport state of a connection, for logs and tests.
    pub fn stats(&self, handle: ConnectionHandle) -> Option<ConnectionStats> {
        self.conns
            .get(&handle)
            .filter(|c| c.state != State::Closed)
            .map(Conn::stats)
    }

    /// The peer of a connection.
    pub fn peer_addr(&self, handle: ConnectionHandle) -> Option<SocketAddr> {
        self.conns.get(&handle).map(|c| c.addr)
    }

    /// Number of connections held (including those closing).
    pub fn connection_count(&self) -> usize {
        self.conns.len()
    }

    fn conn(&mut self, handle: ConnectionHandle) -> Result<&mut Conn, StreamError> {
        match self.conns.get_mut(&handle) {
            Some(c) if c.state != State::Closed => Ok(c),
            _ => Err(StreamError::UnknownConnection),
        }
    }

    /// After any input to a connection: report its close, forget it once nothing is
    /// left to send, or queue it to be polled for packets.
    fn after(&mut self, handle: ConnectionHandle) {
        if self.reap(handle) {
            self.mark_ready(handle);
        }
    }

    /// Reports a connection's close and forgets it once nothing is left to send;
    /// returns whether it is still held.
    fn reap(&mut self, handle: ConnectionHandle) -> bool {
        let Some(conn) = self.conns.get_mut(&handle) else {
            return false;
        };
        if let Some(reason) = conn.reason {
            if conn.report_close {
                conn.report_close = false;
                self.events.push_back(Event::Closed(handle, reason));
            }
        }
        if conn.is_done() {
            let key = (conn.addr, conn.recv_id);
            self.conns.remove(&handle);
            self.routes.remove(&key);
            return false;
        }
        true
    }

    fn mark_ready(&mut self, handle: ConnectionHandle) {
        if let Some(c) = self.conns.get_mut(&handle) {
            if !c.in_ready {
                c.in_ready = true;
                self.ready.push_back(handle);
            }
        }
    }

    /// Writes the next datagram to send into `buf` (at least `max_packet_size` bytes)
    /// and says where it goes. Call until `None` after every input.
    pub fn poll_transmit(&mut self, now: Instant, buf: &mut [u8]) -> Option<Transmit> {
        if let Some(r) = self.stray_resets.pop_front() {
            let header = Header {
                packet_type: PacketType::Reset,
                connection_id: r.connection_id,
                timestamp_us: self.micros(now),
                timestamp_diff_us: 0,
                wnd_size: 0,
                seq_nr: self.rng.next_u16(),
                ack_nr: r.ack_nr,
            };
            if buf.len() >= HEADER_LEN {
                let len = encode_header(&header, None, buf);
                return Some(Transmit {
                    dest: r.dest,
                    len,
                    dont_fragment: false,
                });
            }
        }
        let now_us = self.micros(now);
        while let Some(handle) = self.ready.pop_front() {
            let Some(conn) = self.conns.get_mut(&handle) else {
                continue;
            };
            conn.in_ready = false;
            let sent = conn.poll_transmit(now, now_us, buf);
            let dest = conn.addr;
            // Round robin: a connection that sent goes to the back, to send more later;
            // one with nothing to send leaves the queue (or the endpoint, if finished).
            let alive = self.reap(handle);
            if let Some(w) = sent {
                if alive {
                    self.mark_ready(handle);
                }
                return Some(Transmit {
                    dest,
                    len: w.len,
                    dont_fragment: w.dont_fragment,
                });
            }
        }
        None
    }

    /// The next event, if any. Drain after every input.
    pub fn poll_event(&mut self) -> Option<Event> {
        self.events.pop_front()
    }

    /// When [`handle_timeout`](Self::handle_timeout) is next due; `None` when no
    /// connection waits on a timer.
    pub fn poll_timeout(&self) -> Option<Instant> {
        self.conns.values().filter_map(Conn::next_deadline).min()
    }

    /// Time passed: retransmissions, keep-alives, and connections that timed out.
    /// Calling it early, or twice, does no harm.
    pub fn handle_timeout(&mut self, now: Instant) {
        let mut due = std::mem::take(&mut self.scratch);
        due.extend(
            self.conns
                .iter()
                .filter(|(_, c)| c.next_deadline().is_some_and(|d| d <= now))
                .map(|(&h, _)| h),
        );
        for &handle in &due {
            if let Some(c) = self.conns.get_mut(&handle) {
                c.on_timeout(now);
            }
            self.after(handle);
        }
        due.clear();
        self.scratch = due;
    }
}
