//! The receiving half of a connection's buffers: bytes received in order and not yet
//! read, and packets that arrived early, held until the gap before them fills.
//!
//! Memory is bounded by the window we advertise: in-order bytes are taken while they fit
//! `limit` and early packets while all held bytes fit it, at most [`MAX_REORDER`] packets
//! ahead; anything else is dropped unacknowledged, for the sender to send again once we
//! advertise room. A receiver that never reads therefore holds at most about twice the
//! limit (the in-order check ignores early packets, so they can never starve the packet
//! that fills the gap). In-order payloads are copied once into `readable`; early ones are
//! copied into their own `Bytes` (an allocation, only on reordering or loss).

use crate::packet::MAX_SACK_LEN;
use crate::seq;
use bytes::{Buf, Bytes, BytesMut};
use std::collections::VecDeque;

/// Packets held past a gap, at most (the SACK we send covers the first 256).
pub(crate) const MAX_REORDER: usize = 1024;

/// What became of a packet.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Received {
    /// Taken: new bytes may be readable.
    InOrder,
    /// Held until the gap before it fills.
    Early,
    /// Already had it.
    Duplicate,
    /// No room (or past the FIN): not acknowledged, to be sent again.
    Dropped,
}

#[derive(Debug)]
pub(crate) struct RecvBuffer {
    readable: BytesMut,
    /// Slot `i` is packet `ack_nr + 2 + i`.
    early: VecDeque<Option<Bytes>>,
    early_bytes: usize,
    /// The last packet received in order.
    ack_nr: u16,
    /// The peer's FIN, once seen.
    fin: Option<u16>,
    fin_delivered: bool,
    limit: usize,
}

impl RecvBuffer {
    pub(crate) fn new(ack_nr: u16, limit: usize) -> Self {
        Self {
            readable: BytesMut::new(),
            early: VecDeque::new(),
            early_bytes: 0,
            ack_nr,
            fin: None,
            fin_delivered: false,
            limit,
        }
    }

    pub(crate) fn ack_nr(&self) -> u16 {
        self.ack_nr
    }

    /// Bytes we can still take: the window advertised to the peer.
    pub(crate) fn window(&self) -> u32 {
        let used = self.readable.len() + self.early_bytes;
        u32::try_from(self.limit.saturating_sub(used)).unwrap_or(u32::MAX)
    }

    /// Payload bytes held, in order and early.
    pub(crate) fn buffered(&self) -> usize {
        self.readable.len() + self.early_bytes
    }

    pub(crate) fn readable_len(&self) -> usize {
        self.readable.len()
    }

    /// The peer's FIN arrived and every byte before it was read.
    pub(crate) fn is_eof(&self) -> bool {
        self.fin_delivered && self.readable.is_empty()
    }

    /// The peer's FIN arrived in order (bytes before it may still be unread).
    pub(crate) fn fin_delivered(&self) -> bool {
        self.fin_delivered
    }

    /// A data packet (`fin` false) or the peer's FIN (no payload).
    pub(crate) fn on_packet(&mut self, seq_nr: u16, payload: &[u8], fin: bool) -> Received {
        let d = seq::dist(self.ack_nr, seq_nr);
        if d == 0 || d >= 0x8000 {
            return Received::Duplicate;
        }
        if self.fin.is_some_and(|f| seq::before(f, seq_nr)) || self.fin_delivered {
            return Received::Dropped;
        }
        if fin {
            self.fin = Some(seq_nr);
        }
        if d == 1 {
            if self.readable.len() + payload.len() > self.limit {
                return Received::Dropped;
            }
            self.readable.extend_from_slice(payload);
            self.advance();
            while let Some(slot) = self.early.pop_front() {
                match slot {
                    Some(bytes) => {
                        self.early_bytes -= bytes.len();
                        self.readable.extend_from_slice(&bytes);
                        self.advance();
                    }
                    None => break,
                }
            }
            return Received::InOrder;
        }
        let i = usize::from(d) - 2;
        if i >= MAX_REORDER || self.early_bytes + payload.len() > self.limit {
            return Received::Dropped;
        }
        if self.early.len() <= i {
            self.early.resize(i + 1, None);
        }
        if self.early[i].is_some() {
            return Received::Duplicate;
        }
        self.early_bytes += payload.len();
        self.early[i] = Some(Bytes::copy_from_slice(payload));
        Received::Early
    }

    /// `ack_nr` moves over one packet taken in order.
    fn advance(&mut self) {
        self.ack_nr = self.ack_nr.wrapping_add(1);
        if self.fin == Some(self.ack_nr) {
            self.fin_delivered = true;
            self.early.clear();
            self.early_bytes = 0;
        }
    }

    /// Writes the selective ACK of the early packets into `out`, returning its length, or
    /// `None` when nothing is held early.
    pub(crate) fn sack(&self, out: &mut [u8; MAX_SACK_LEN]) -> Option<usize> {
        let last = self.early.iter().rposition(Option::is_some)?;
        let bits = (last + 1).min(MAX_SACK_LEN * 8);
        let len = bits.div_ceil(32) * 4;
        out[..len].fill(0);
        for (i, slot) in self.early.iter().take(bits).enumerate() {
            if slot.is_some() {
                out[i / 8] |= 1 << (i % 8);
            }
        }
        Some(len)
    }

    /// Copies readable bytes into `buf`.
    pub(crate) fn read(&mut self, buf: &mut [u8]) -> usize {
        let n = buf.len().min(self.readable.len());
        buf[..n].copy_from_slice(&self.readable[..n]);
        self.readable.advance(n);
        n
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reorders_across_the_wrap_and_sacks() {
        let mut r = RecvBuffer::new(65_534, 1 << 20);
        assert_eq!(r.on_packet(0, b"c", false), Received::Early); // 65534 + 2
        assert_eq!(r.on_packet(2, b"e", false), Received::Early);
        let mut mask = [0u8; MAX_SACK_LEN];
        assert_eq!(r.sack(&mut mask), Some(4));
        assert_eq!(mask[0], 0b101);
        assert_eq!(r.on_packet(65_535, b"b", false), Received::InOrder);
        assert_eq!(r.ack_nr(), 0);
        assert_eq!(r.on_packet(0, b"c", false), Received::Duplicate);
        assert_eq!(r.on_packet(1, b"d", false), Received::InOrder);
        assert_eq!(r.ack_nr(), 2);
        assert_eq!(r.sack(&mut mask), None);
        let mut buf = [0u8; 8];
        assert_eq!(r.read(&mut buf), 4);
        assert_eq!(&buf[..4], b"bcde");
    }

    #[test]
    fn bounded_by_the_limit_and_fin() {
        let mut r = RecvBuffer::new(10, 4);
        assert_eq!(r.on_packet(11, b"abc", false), Received::InOrder);
        assert_eq!(r.window(), 1);
        assert_eq!(r.on_packet(12, b"de", false), Received::Dropped);
        assert_eq!(
            r.on_packet(13 + MAX_REORDER as u16, b"x", false),
            Received::Dropped
        );
        assert_eq!(r.on_packet(13, b"", true), Received::Early);
        assert_eq!(
            r.on_packet(14, b"z", false),
            Received::Dropped,
            "past the FIN"
        );
        let mut buf = [0u8; 8];
        r.read(&mut buf);
        assert_eq!(r.on_packet(12, b"de", false), Received::InOrder);
        assert!(r.fin_delivered() && !r.is_eof());
        assert_eq!(r.read(&mut buf), 2);
        assert!(r.is_eof());
    }
}
