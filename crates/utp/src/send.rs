//! The sending half of a connection's buffers: bytes written but not yet packetised, and
//! the packets in flight, oldest first, until they are acknowledged.
//!
//! uTP numbers packets, so a packet's bytes are fixed when it is first sent and every
//! retransmission repeats them. Written bytes are copied once, into `unsent`; a packet's
//! payload is then a `Bytes` split off it (no copy), held in flight until acknowledged and
//! copied once more into the datagram. `unsent` grows by 64 KiB at a time, so the steady
//! state allocates once per 64 KiB, not per packet.

use crate::seq;
use bytes::{Bytes, BytesMut};
use std::collections::VecDeque;
use std::time::Instant;

/// Least growth of the unsent buffer when it needs room.
const GROW: usize = 64 << 10;

/// What a packet in flight is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Kind {
    Syn,
    Data,
    Fin,
}

/// One packet sent and not yet acknowledged in order.
#[derive(Debug, Clone)]
pub(crate) struct Sent {
    pub(crate) seq: u16,
    pub(crate) kind: Kind,
    pub(crate) payload: Bytes,
    /// Datagram size, as counted against the window.
    pub(crate) size: usize,
    pub(crate) last_sent: Instant,
    pub(crate) transmissions: u32,
    /// Selectively acknowledged: received, waiting for the packets before it.
    pub(crate) sacked: bool,
    /// Lost (timed out, or three later packets acknowledged): to send again.
    pub(crate) need_resend: bool,
    /// An MTU probe: its first transmission asked for don't-fragment.
    pub(crate) probe: bool,
}

/// Bytes to send and packets in flight.
#[derive(Debug)]
pub(crate) struct SendQueue {
    unsent: BytesMut,
    inflight: VecDeque<Sent>,
    next_seq: u16,
    /// Bytes of datagrams counted against the window: sent, and neither acknowledged
    /// (in order or selectively) nor marked lost.
    in_window: usize,
    /// No packet before this index waits to be sent (see `first_to_send`).
    scan_from: usize,
    /// Payload bytes held: unsent plus in flight. `write` keeps it under `limit`.
    held: usize,
    limit: usize,
}

impl SendQueue {
    pub(crate) fn new(first_seq: u16, limit: usize) -> Self {
        Self {
            unsent: BytesMut::new(),
            inflight: VecDeque::new(),
            next_seq: first_seq,
            in_window: 0,
            scan_from: 0,
            held: 0,
            limit,
        }
    }

    /// Takes as much of `data` as the buffer has room for.
    pub(crate) fn write(&mut self, data: &[u8]) -> usize {
        let n = data.len().min(self.space());
        if n == 0 {
            return 0;
        }
        if self.unsent.capacity() - self.unsent.len() < n {
            self.unsent.reserve(n.max(GROW));
        }
        self.unsent.extend_from_slice(&data[..n]);
        self.held += n;
        n
    }

    /// Room for `write`.
    pub(crate) fn space(&self) -> usize {
        self.limit.saturating_sub(self.held)
    }

    pub(crate) fn limit(&self) -> usize {
        self.limit
    }

    pub(crate) fn unsent_len(&self) -> usize {
        self.unsent.len()
    }

    pub(crate) fn next_seq(&self) -> u16 {
        self.next_seq
    }

    /// Sequence number of the oldest packet in flight (`next_seq` when none).
    pub(crate) fn front_seq(&self) -> u16 {
        self.inflight.front().map_or(self.next_seq, |p| p.seq)
    }

    pub(crate) fn in_window(&self) -> usize {
        self.in_window
    }

    pub(crate) fn inflight_len(&self) -> usize {
        self.inflight.len()
    }

    pub(crate) fn front(&self) -> Option<&Sent> {
        self.inflight.front()
    }

    /// Packetises: a new packet in flight, numbered `next_seq`, with the next `payload_len`
    /// unsent bytes. Returns its index in flight.
    pub(crate) fn push(
        &mut self,
        kind: Kind,
        payload_len: usize,
        size: usize,
        now: Instant,
    ) -> usize {
        let payload = self
            .unsent
            .split_to(payload_len.min(self.unsent.len()))
            .freeze();
        self.inflight.push_back(Sent {
            seq: self.next_seq,
            kind,
            payload,
            size,
            last_sent: now,
            transmissions: 0,
            sacked: false,
            need_resend: true,
            probe: false,
        });
        self.next_seq = self.next_seq.wrapping_add(1);
        self.inflight.len() - 1
    }

    /// Marks packet `i` as an MTU probe.
    pub(crate) fn mark_probe(&mut self, i: usize) {
        self.inflight[i].probe = true;
    }

    /// Index of the oldest packet waiting to be resent (new packets wait the same way).
    /// Scans from a hint, so the steady state (only new packets waiting, at the end)
    /// costs nothing per packet.
    pub(crate) fn first_to_send(&mut self) -> Option<usize> {
        let from = self.scan_from.min(self.inflight.len());
        let found = self.inflight.range(from..).position(|p| p.need_resend);
        self.scan_from = found.map_or(self.inflight.len(), |i| from + i);
        found.map(|i| from + i)
    }

    pub(crate) fn get(&self, i: usize) -> &Sent {
        &self.inflight[i]
    }

    /// Marks packet `i` as sent now; it counts against the window until acknowledged.
    pub(crate) fn mark_sent(&mut self, i: usize, now: Instant) -> &Sent {
        let p = &mut self.inflight[i];
        p.need_resend = false;
        p.transmissions += 1;
        p.last_sent = now;
        self.in_window += p.size;
        p
    }

    /// Marks packet `i` lost, to be sent again; false if it already was, or was received.
    pub(crate) fn mark_lost(&mut self, i: usize) -> bool {
        let p = &mut self.inflight[i];
        if p.sacked || p.need_resend {
            return false;
        }
        p.need_resend = true;
        self.in_window -= p.size;
        self.scan_from = self.scan_from.min(i);
        true
    }

    /// Marks packet `i` selectively acknowledged. Returns, if it was not already, its
    /// sequence number, size and, if it is an unambiguous RTT sample (sent once, not
    /// given up as lost), when it was sent.
    pub(crate) fn mark_sacked(&mut self, i: usize) -> Option<(u16, usize, Option<Instant>)> {
        let p = self.inflight.get_mut(i)?;
        if p.sacked {
            return None;
        }
        p.sacked = true;
        let sample = (p.transmissions == 1 && !p.need_resend).then_some(p.last_sent);
        if p.need_resend {
            // Marked lost too early: it arrived after all, no need to send it again.
            p.need_resend = false;
        } else {
            self.in_window -= p.size;
        }
        Some((p.seq, p.size, sample))
    }

    /// Index in flight of packet `seq_nr`, if it is in flight.
    pub(crate) fn index_of(&self, seq_nr: u16) -> Option<usize> {
        let i = usize::from(seq::dist(self.front_seq(), seq_nr));
        (i < self.inflight.len()).then_some(i)
    }

    /// How many packets an ACK of `ack_nr` acknowledges in order: `None` if `ack_nr` is
    /// not between the last acknowledged packet and the last sent (a stale or bogus ACK).
    pub(crate) fn acked_count(&self, ack_nr: u16) -> Option<usize> {
        let n = usize::from(seq::dist(self.front_seq().wrapping_sub(1), ack_nr));
        (n <= self.inflight.len()).then_some(n)
    }

    /// Removes the oldest packet, acknowledged in order; `f` sees it and whether it still
    /// counted against the window (not selectively acknowledged before).
    pub(crate) fn pop_acked(&mut self) -> Option<(Sent, bool)> {
        let p = self.inflight.pop_front()?;
        self.scan_from = self.scan_from.saturating_sub(1);
        let newly = !p.sacked;
        if newly && !p.need_resend {
            self.in_window -= p.size;
        }
        self.held -= p.payload.len();
        Some((p, newly))
    }

    /// Marks every packet in flight lost (a timeout); returns how many were not already.
    pub(crate) fn mark_all_lost(&mut self) -> usize {
        (0..self.inflight.len())
            .filter(|&i| self.mark_lost(i))
            .count()
    }

    /// How many of the oldest packets in flight lie before a point with at least `n`
    /// selectively acknowledged packets after it: the unacknowledged ones among them are
    /// lost (BEP 29's "three packets acknowledged past a hole").
    pub(crate) fn holes_end(&self, n: usize) -> usize {
        let mut after = 0;
        for i in (0..self.inflight.len()).rev() {
            if self.inflight[i].sacked {
                after += 1;
            } else if after >= n {
                return i + 1;
            }
        }
        0
    }
}
