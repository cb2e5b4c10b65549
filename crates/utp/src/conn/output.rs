//! The next packet to send: a packet waiting for (re)transmission, new data, the FIN, or
//! an empty ACK; each header carries our ACK, window and delay sample, and a selective
//! ACK while packets are held out of order.

use super::{Conn, State};
use crate::packet::{encode_header, Header, PacketType, HEADER_LEN, MAX_SACK_LEN};
use crate::send::Kind;
use std::time::Instant;

/// A packet written into the caller's buffer.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Written {
    pub(crate) len: usize,
    pub(crate) dont_fragment: bool,
}

impl Conn {
    /// Writes the next packet into `buf`, if there is one to send now.
    pub(crate) fn poll_transmit(
        &mut self,
        now: Instant,
        now_us: u32,
        buf: &mut [u8],
    ) -> Option<Written> {
        match self.state {
            State::SynRecv => return None,
            State::Closed => return self.transmit_closing(now_us, buf),
            State::SynSent | State::Connected => {}
        }
        loop {
            if let Some(i) = self.send.first_to_send() {
                let p = self.send.get(i);
                if p.kind == Kind::Syn || self.may_send(p.size) {
                    return self.transmit_queued(i, now, now_us, buf);
                }
                self.note_blocked(now);
                break;
            }
            if self.state != State::Connected || self.fin_queued {
                break;
            }
            if self.send.unsent_len() > 0 {
                if self.packetise(now) {
                    continue;
                }
                break;
            }
            self.cwnd_limited = false; // out of data with room to spare
            if self.close_requested {
                self.send.push(Kind::Fin, 0, HEADER_LEN, now);
                self.fin_queued = true;
                continue;
            }
            break;
        }
        let keepalive =
            self.state == State::Connected && now >= self.last_sent + self.cfg.keepalive_interval;
        if self.ack_needed || keepalive {
            return self.transmit_state(PacketType::State, now, now_us, buf);
        }
        None
    }

    /// Whether a datagram of `size` bytes fits the window now.
    fn may_send(&self, size: usize) -> bool {
        let in_window = self.send.in_window();
        let peer = self.peer_wnd as usize;
        if in_window + size <= self.cc.window().min(peer) {
            return true;
        }
        // Nothing in flight: one packet may exceed a window smaller than itself (BEP 29),
        // unless it is the peer's window that is shut, which waits for the timer's probe.
        in_window == 0 && (peer >= size || self.zero_window_probe)
    }

    /// Sending waits for the window: note which one, and make sure a timer will wake a
    /// sender that the peer's shut window left with nothing in flight.
    fn note_blocked(&mut self, now: Instant) {
        self.cwnd_limited = self.cc.window() <= self.peer_wnd as usize;
        if self.send.in_window() == 0 && self.rto_deadline.is_none() {
            self.rto_deadline = Some(now + self.rtt.rto());
        }
    }

    /// Cuts the next packet from the unsent bytes, if the window and Nagle allow one now.
    fn packetise(&mut self, now: Instant) -> bool {
        let mut sack = [0u8; MAX_SACK_LEN];
        let overhead = HEADER_LEN + self.recv.sack(&mut sack).map_or(0, |n| 2 + n);
        let unsent = self.send.unsent_len();
        let window = self.cc.window().min(self.peer_wnd as usize);
        let due = self
            .mtu
            .next_probe()
            .filter(|&size| unsent >= size - overhead && size <= window);
        let probe = due.filter(|&size| self.may_send(size));
        if due.is_some() && probe.is_none() {
            // A probe is due and would fit the window once enough of it frees: wait for
            // that rather than fill it with ordinary packets, or a busy connection (its
            // window always full) would never probe. Costs one probe's size of window,
            // once per probe.
            self.note_blocked(now);
            return false;
        }
        let size = probe.unwrap_or(self.mtu.packet_size());
        let full = size - overhead;
        let payload = unsent.min(full);
        let held_back = self.cfg.nagle
            && payload < full
            && self.send.inflight_len() > 0
            && !self.close_requested;
        if held_back {
            self.cwnd_limited = false;
            return false;
        }
        if !self.may_send(overhead + payload) {
            self.note_blocked(now);
            return false;
        }
        let i = self.send.push(Kind::Data, payload, overhead + payload, now);
        if let Some(size) = probe {
            let seq = self.send.get(i).seq;
            self.send.mark_probe(i);
            self.mtu.probe_sent(seq, size);
        }
        true
    }

    /// Sends packet `i` in flight (first transmission or again).
    fn transmit_queued(
        &mut self,
        i: usize,
        now: Instant,
        now_us: u32,
        buf: &mut [u8],
    ) -> Option<Written> {
        let p = self.send.get(i);
        let mut sack = [0u8; MAX_SACK_LEN];
        let sack_len = self.recv.sack(&mut sack);
        // A SACK goes along only if it fits the size the packet was cut for.
        let sack = sack_len
            .filter(|n| HEADER_LEN + 2 + n + p.payload.len() <= p.size.max(HEADER_LEN))
            .map(|n| &sack[..n]);
        let header = Header {
            packet_type: match p.kind {
                Kind::Syn => PacketType::Syn,
                Kind::Data => PacketType::Data,
                Kind::Fin => PacketType::Fin,
            },
            connection_id: if p.kind == Kind::Syn {
                self.recv_id
            } else {
                self.send_id
            },
            timestamp_us: now_us,
            timestamp_diff_us: self.reply_micro,
            wnd_size: self.recv.window(),
            seq_nr: p.seq,
            ack_nr: self.recv.ack_nr(),
        };
        let len = HEADER_LEN + sack.map_or(0, |s| 2 + s.len()) + p.payload.len();
        if len > buf.len() {
            debug_assert!(false, "poll_transmit buffer smaller than max_packet_size");
            return None;
        }
        let at = encode_header(&header, sack, buf);
        buf[at..len].copy_from_slice(&p.payload);
        let dont_fragment = p.probe && p.transmissions == 0;
        let p = self.send.mark_sent(i, now);
        if p.transmissions > 1 {
            self.retransmits += 1;
        }
        self.zero_window_probe = false;
        if self.rto_deadline.is_none() {
            self.rto_deadline = Some(now + self.rtt.rto());
        }
        self.sent(now);
        Some(Written { len, dont_fragment })
    }

    /// An ACK without data (or, closing, a reset).
    fn transmit_state(
        &mut self,
        kind: PacketType,
        now: Instant,
        now_us: u32,
        buf: &mut [u8],
    ) -> Option<Written> {
        let mut sack = [0u8; MAX_SACK_LEN];
        let sack = self.recv.sack(&mut sack).map(|n| &sack[..n]);
        let header = Header {
            packet_type: kind,
            connection_id: self.send_id,
            timestamp_us: now_us,
            timestamp_diff_us: self.reply_micro,
            wnd_size: self.recv.window(),
            seq_nr: self.send.next_seq(),
            ack_nr: self.recv.ack_nr(),
        };
        let len = HEADER_LEN + sack.map_or(0, |s| 2 + s.len());
        if len > buf.len() {
            return None;
        }
        encode_header(&header, sack, buf);
        self.sent(now);
        Some(Written {
            len,
            dont_fragment: false,
        })
    }

    /// Closed: the reset or the last ACK still owed, once.
    fn transmit_closing(&mut self, now_us: u32, buf: &mut [u8]) -> Option<Written> {
        let now = self.last_sent; // no timers left to arm
        if self.pending_reset {
            self.pending_reset = false;
            return self.transmit_state(PacketType::Reset, now, now_us, buf);
        }
        if self.ack_needed {
            return self.transmit_state(PacketType::State, now, now_us, buf);
        }
        None
    }

    /// Bookkeeping common to every packet sent.
    fn sent(&mut self, now: Instant) {
        self.ack_needed = false;
        self.last_sent = now;
    }
}
