//! Packets from the peer: the handshake's answer, ACKs and selective ACKs (which drive
//! RTT, LEDBAT, loss detection and the MTU search), data and FIN, resets.

use super::{Conn, State};
use crate::event::{CloseReason, Event};
use crate::packet::{Packet, PacketType};
use crate::recv::Received;
use crate::send::Kind;
use std::collections::VecDeque;
use std::time::Instant;

/// Duplicate ACKs (or packets selectively acknowledged past a hole) that mean "lost".
const DUP_THRESHOLD: usize = 3;

impl Conn {
    pub(crate) fn on_packet(
        &mut self,
        now: Instant,
        now_us: u32,
        pkt: &Packet<'_>,
        events: &mut VecDeque<Event>,
    ) {
        if self.state == State::Closed {
            return;
        }
        let h = pkt.header;
        self.last_recv = now;
        self.reply_micro = now_us.wrapping_sub(h.timestamp_us);
        match h.packet_type {
            PacketType::Reset => {
                // Both FINs crossed and the peer, done, forgot the connection before our
                // FIN's ACK arrived: every byte was delivered both ways.
                let done = self.fin_queued && self.recv.fin_delivered();
                let reason = if done {
                    CloseReason::Finished
                } else {
                    CloseReason::Reset
                };
                return self.finish(reason, true);
            }
            PacketType::Syn => {
                // The peer resends its SYN: our answer was lost.
                if self.state == State::Connected {
                    self.ack_needed = true;
                }
                return;
            }
            _ => {}
        }
        match self.state {
            // Not accepted yet: what the peer sends now it will send again.
            State::SynRecv | State::Closed => return,
            State::SynSent => {
                if h.ack_nr != self.send.front_seq() {
                    return;
                }
                // The ACK of our SYN carries the peer's next sequence number.
                self.recv = crate::recv::RecvBuffer::new(
                    h.seq_nr.wrapping_sub(1),
                    self.cfg.recv_buffer_size,
                );
                self.state = State::Connected;
                events.push_back(Event::Connected(self.handle));
            }
            State::Connected => {}
        }
        let shut = (self.peer_wnd as usize) < self.mtu.packet_size();
        let same_window = self.peer_wnd == h.wnd_size;
        self.peer_wnd = h.wnd_size;
        if shut {
            self.on_window_reopened();
        }
        self.on_ack(now, pkt, same_window, events);
        match h.packet_type {
            PacketType::Data if !pkt.payload.is_empty() => {
                self.on_data(h.seq_nr, pkt.payload, false, events);
            }
            PacketType::Fin => self.on_data(h.seq_nr, &[], true, events),
            _ => {}
        }
        self.check_finished(now);
    }

    /// The peer had no room; if it has now, what it dropped for lack of room goes again
    /// at once instead of after the timer, and a peer that keeps answering is alive.
    fn on_window_reopened(&mut self) {
        if (self.peer_wnd as usize) < self.mtu.packet_size() {
            self.timeouts_in_row = 0;
            return;
        }
        self.zero_window_probe = false;
        self.send.mark_all_lost();
    }

    /// `same_window`: the peer advertises the window it did before; an ACK that changes
    /// it is a window update (the peer's application read), not a duplicate ACK.
    fn on_ack(
        &mut self,
        now: Instant,
        pkt: &Packet<'_>,
        same_window: bool,
        events: &mut VecDeque<Event>,
    ) {
        let h = pkt.header;
        let Some(n) = self.send.acked_count(h.ack_nr) else {
            return; // acknowledges something we never sent, or long acknowledged
        };
        let mut bytes_acked = 0;
        // One RTT sample per ACK: the least over the packets it newly acknowledges (sent
        // once). A cumulative ACK that fills a hole also covers packets received long
        // ago; their age is the wait for the hole, not the round trip.
        let mut newest_sent: Option<Instant> = None;
        for _ in 0..n {
            let Some((p, newly)) = self.send.pop_acked() else {
                break;
            };
            if newly {
                bytes_acked += p.size;
                if p.transmissions == 1 && !p.need_resend {
                    newest_sent = newest_sent.max(Some(p.last_sent));
                }
            }
            if let Some(size) = self.mtu.acked(p.seq) {
                self.cc.set_mss(size);
            }
            if p.kind == Kind::Fin {
                self.fin_acked_at = Some(now);
            }
        }
        if n > 0 {
            self.dup_acks = 0;
            self.timeouts_in_row = 0;
            self.rtt.reset_backoff();
            self.rto_deadline = (self.send.inflight_len() > 0).then(|| now + self.rtt.rto());
        } else if h.packet_type == PacketType::State
            && self.send.inflight_len() > 0
            && (same_window || pkt.sack.is_some())
        {
            self.dup_acks += 1;
            if self.dup_acks as usize == DUP_THRESHOLD {
                self.lose(0);
            }
        }
        if let Some(sack) = pkt.sack {
            let first = h.ack_nr.wrapping_add(2);
            for i in sack.iter_set() {
                let Some(idx) = self.send.index_of(first.wrapping_add(i as u16)) else {
                    continue;
                };
                if let Some((seq, size, sent)) = self.send.mark_sacked(idx) {
                    bytes_acked += size;
                    newest_sent = newest_sent.max(sent);
                    if let Some(size) = self.mtu.acked(seq) {
                        self.cc.set_mss(size);
                    }
                }
            }
            // A packet resent less than a round trip ago may still arrive: not lost again.
            let recent = self.rtt.srtt().unwrap_or_default();
            for idx in 0..self.send.holes_end(DUP_THRESHOLD) {
                let p = self.send.get(idx);
                if !p.sacked
                    && !p.need_resend
                    && now.saturating_duration_since(p.last_sent) >= recent
                {
                    self.lose(idx);
                }
            }
        }
        if let Some(sent) = newest_sent {
            self.rtt.sample(now.saturating_duration_since(sent));
        }
        if bytes_acked > 0 {
            let delay = (h.timestamp_diff_us != 0).then_some(h.timestamp_diff_us);
            self.cc.on_ack(now, bytes_acked, delay, self.cwnd_limited);
            self.signal_writable(events);
        }
    }

    /// Packet `idx` in flight is lost: send it again; cut the window unless it was an MTU
    /// probe (too big, not congestion).
    fn lose(&mut self, idx: usize) {
        if !self.send.mark_lost(idx) {
            return;
        }
        let seq = self.send.get(idx).seq;
        if !self.mtu.lost(seq) {
            self.cc.on_loss(seq, self.send.next_seq());
        }
    }

    fn on_data(&mut self, seq_nr: u16, payload: &[u8], fin: bool, events: &mut VecDeque<Event>) {
        // Acknowledge even duplicates and drops: the sender learns our ack_nr and window.
        self.ack_needed = true;
        if self.recv.on_packet(seq_nr, payload, fin) == Received::InOrder
            && (self.recv.readable_len() > 0 || self.recv.fin_delivered())
            && !self.readable_signalled
        {
            self.readable_signalled = true;
            events.push_back(Event::Readable(self.handle));
        }
    }
}
