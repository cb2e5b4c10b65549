//! One uTP connection: its state, its buffers, its congestion and RTT state, and the
//! stream operations the endpoint forwards to it.
//!
//! Split by direction of travel: `input` takes packets from the peer (ACKs, data, FIN,
//! reset), `output` builds the next packet to send, `timer` answers deadlines
//! (retransmission, keep-alive, idle, accept, linger). The endpoint owns every `Conn` and
//! routes to it; a `Conn` never sees another.

mod input;
mod output;
mod timer;

use crate::config::Config;
use crate::event::{CloseReason, ConnectionHandle, ConnectionStats, Event, StreamError};
use crate::ledbat::Ledbat;
use crate::mtu::MtuSearch;
use crate::packet::{Header, HEADER_LEN};
use crate::recv::RecvBuffer;
use crate::rtt::Rtt;
use crate::send::{Kind, SendQueue};
use std::collections::VecDeque;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::{Duration, Instant};

/// How long a connection whose FIN was acknowledged waits for the peer's FIN.
const LINGER: Duration = Duration::from_secs(5);

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum State {
    /// Our SYN is out; waiting for its ACK.
    SynSent,
    /// The peer's SYN arrived; waiting for the caller to accept.
    SynRecv,
    /// Data flows.
    Connected,
    /// Over; the endpoint drops it once the last ACK or reset is out.
    Closed,
}

#[derive(Debug)]
pub(crate) struct Conn {
    pub(crate) handle: ConnectionHandle,
    pub(crate) addr: SocketAddr,
    /// Id on packets we receive (the routing key, with `addr`).
    pub(crate) recv_id: u16,
    /// Id on packets we send.
    pub(crate) send_id: u16,
    pub(crate) state: State,
    /// Queued in the endpoint's list of connections to poll for packets.
    pub(crate) in_ready: bool,
    cfg: Arc<Config>,
    send: SendQueue,
    recv: RecvBuffer,
    cc: Ledbat,
    rtt: Rtt,
    mtu: MtuSearch,
    peer_wnd: u32,
    /// Our last one-way delay sample of the peer's packets, echoed in every header.
    reply_micro: u32,
    ack_needed: bool,
    dup_acks: u32,
    rto_deadline: Option<Instant>,
    timeouts_in_row: u32,
    created: Instant,
    last_sent: Instant,
    last_recv: Instant,
    close_requested: bool,
    fin_queued: bool,
    fin_acked_at: Option<Instant>,
    /// The window (not the peer's, not a lack of data) last held sending back.
    cwnd_limited: bool,
    /// The peer's window is shut and the timer fired: one packet may go anyway.
    zero_window_probe: bool,
    readable_signalled: bool,
    writable_wanted: bool,
    /// Why it closed, once it has; and whether the caller is still to be told.
    pub(crate) reason: Option<CloseReason>,
    pub(crate) report_close: bool,
    /// A reset to send on the way out (the caller refused or aborted).
    pending_reset: bool,
    retransmits: u64,
    timeouts: u64,
}

impl Conn {
    fn new(
        handle: ConnectionHandle,
        addr: SocketAddr,
        ids: (u16, u16),
        state: State,
        (first_seq, ack_nr): (u16, u16),
        cfg: Arc<Config>,
        now: Instant,
    ) -> Self {
        let mtu = MtuSearch::new(
            cfg.initial_packet_size,
            cfg.min_packet_size,
            cfg.max_packet_size,
            cfg.mtu_probing,
        );
        Self {
            handle,
            addr,
            recv_id: ids.0,
            send_id: ids.1,
            state,
            in_ready: false,
            send: SendQueue::new(first_seq, cfg.send_buffer_size),
            recv: RecvBuffer::new(ack_nr, cfg.recv_buffer_size),
            cc: Ledbat::new(
                mtu.packet_size(),
                cfg.target_delay,
                cfg.gain_bytes_per_rtt,
                cfg.slow_start,
            ),
            rtt: Rtt::default(),
            mtu,
            // Unknown until the peer's first packet; the window binds until then.
            peer_wnd: u32::MAX,
            reply_micro: 0,
            ack_needed: false,
            dup_acks: 0,
            rto_deadline: None,
            timeouts_in_row: 0,
            created: now,
            last_sent: now,
            last_recv: now,
            close_requested: false,
            fin_queued: false,
            fin_acked_at: None,
            cwnd_limited: false,
            zero_window_probe: false,
            readable_signalled: false,
            writable_wanted: false,
            reason: None,
            report_close: false,
            pending_reset: false,
            retransmits: 0,
            timeouts: 0,
            cfg,
        }
    }

    /// A connection we open: its SYN waits to be sent.
    pub(crate) fn outgoing(
        handle: ConnectionHandle,
        addr: SocketAddr,
        recv_id: u16,
        first_seq: u16,
        cfg: Arc<Config>,
        now: Instant,
    ) -> Self {
        let ids = (recv_id, recv_id.wrapping_add(1));
        let mut c = Self::new(handle, addr, ids, State::SynSent, (first_seq, 0), cfg, now);
        c.send.push(Kind::Syn, 0, HEADER_LEN, now);
        c
    }

    /// A connection the peer opens with `syn`; answered once accepted.
    pub(crate) fn incoming(
        handle: ConnectionHandle,
        addr: SocketAddr,
        syn: &Header,
        first_seq: u16,
        cfg: Arc<Config>,
        now: Instant,
        now_us: u32,
    ) -> Self {
        let ids = (syn.connection_id.wrapping_add(1), syn.connection_id);
        let mut c = Self::new(
            handle,
            addr,
            ids,
            State::SynRecv,
            (first_seq, syn.seq_nr),
            cfg,
            now,
        );
        c.reply_micro = now_us.wrapping_sub(syn.timestamp_us);
        c.peer_wnd = syn.wnd_size;
        c
    }

    /// Whether this is an incoming connection not yet accepted (counts as half-open).
    pub(crate) fn is_unaccepted(&self) -> bool {
        self.state == State::SynRecv
    }

    /// The caller takes the incoming connection: answer the SYN.
    pub(crate) fn accept(&mut self) -> Result<(), StreamError> {
        if self.state != State::SynRecv {
            return Err(StreamError::InvalidState);
        }
        self.state = State::Connected;
        self.ack_needed = true;
        Ok(())
    }

    /// Lets this connection's datagrams grow to `size` (see
    /// [`Endpoint::set_max_packet_size`](crate::Endpoint::set_max_packet_size)).
    pub(crate) fn set_max_packet_size(&mut self, size: usize) {
        self.mtu.set_ceiling(size, self.cfg.min_packet_size);
        self.cc.set_mss(self.mtu.packet_size());
    }

    /// Ends the connection at once with a reset to the peer, telling the caller nothing
    /// (it asked).
    pub(crate) fn abort(&mut self) {
        if self.state != State::Closed {
            // A peer that never got our SYN has no state to reset.
            self.pending_reset = self.state != State::SynSent;
            self.finish(CloseReason::Reset, false);
        }
    }

    pub(crate) fn write(&mut self, data: &[u8]) -> Result<usize, StreamError> {
        match self.state {
            State::SynSent | State::Connected if !self.close_requested => {}
            _ => return Err(StreamError::InvalidState),
        }
        let n = self.send.write(data);
        if n < data.len() {
            self.writable_wanted = true;
        }
        if n == 0 && !data.is_empty() {
            return Err(StreamError::WouldBlock);
        }
        Ok(n)
    }

    pub(crate) fn read(&mut self, buf: &mut [u8]) -> Result<usize, StreamError> {
        if matches!(self.state, State::SynRecv | State::Closed) {
            return Err(StreamError::InvalidState);
        }
        if buf.is_empty() {
            return Ok(0);
        }
        let before = self.recv.window() as usize;
        let n = self.recv.read(buf);
        if self.recv.readable_len() == 0 {
            self.readable_signalled = false;
        }
        // Tell a sender held back by our window that there is room again, rather than
        // leave it to its timer.
        let after = self.recv.window() as usize;
        let packet = self.mtu.packet_size();
        if before < packet.max(self.cfg.recv_buffer_size / 2) && after >= before + packet {
            self.ack_needed = true;
        }
        if self.recv.is_eof() && self.fin_acked_at.is_some() {
            // The last unread bytes are read and both FINs are through.
            self.finish(CloseReason::Finished, true);
        }
        match n {
            0 if self.recv.is_eof() => Ok(0),
            0 => Err(StreamError::WouldBlock),
            n => Ok(n),
        }
    }

    /// The caller will write no more: FIN once everything written is sent.
    pub(crate) fn close(&mut self) {
        match self.state {
            State::SynRecv => self.abort(),
            State::Closed => {}
            State::SynSent | State::Connected => self.close_requested = true,
        }
    }

    /// Moves to `Closed` for `reason`; `report`: whether the caller gets an event.
    fn finish(&mut self, reason: CloseReason, report: bool) {
        if self.state == State::Closed {
            return;
        }
        tracing::debug!(conn = self.handle.0, peer = %self.addr, %reason, "uTP connection closed");
        self.state = State::Closed;
        self.reason = Some(reason);
        self.report_close = report;
        self.rto_deadline = None;
    }

    /// Ends gracefully once our FIN is acknowledged and the peer's FIN arrived with every
    /// byte before it read (or the linger time passed without it): bytes received are
    /// the caller's until it has read them.
    fn check_finished(&mut self, now: Instant) {
        if let Some(at) = self.fin_acked_at {
            if self.recv.is_eof() || now >= at + LINGER {
                self.finish(CloseReason::Finished, true);
            }
        }
    }

    /// Whether the endpoint can forget it: closed, with nothing left to send.
    pub(crate) fn is_done(&self) -> bool {
        self.state == State::Closed && !self.pending_reset && !self.ack_needed
    }

    pub(crate) fn stats(&self) -> ConnectionStats {
        ConnectionStats {
            peer: self.addr,
            cwnd: self.cc.window(),
            in_flight: self.send.in_window(),
            peer_window: self.peer_wnd,
            rtt: self.rtt.srtt(),
            rto: self.rtt.rto(),
            queueing_delay: self.cc.queueing_delay(),
            send_buffered: self.send.limit() - self.send.space(),
            recv_buffered: self.recv.buffered(),
            packet_size: self.mtu.packet_size(),
            retransmits: self.retransmits,
            timeouts: self.timeouts,
        }
    }

    /// Pushes `Writable` if a refused write can go on now.
    fn signal_writable(&mut self, events: &mut VecDeque<Event>) {
        if self.writable_wanted
            && self.state == State::Connected
            && self.send.space() >= self.send.limit() / 4
        {
            self.writable_wanted = false;
            events.push_back(Event::Writable(self.handle));
        }
    }
}
