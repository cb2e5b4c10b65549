//! Path-MTU search (in the manner of DPLPMTUD, RFC 8899): which datagram size a
//! connection uses.
//!
//! A connection starts at `initial_packet_size` (1,400: under the 1,500-byte Ethernet MTU
//! with room for IPv6, tunnels and PPPoE) and searches upwards to `max_packet_size`. A
//! probe is an ordinary data packet of the size being tried, sent with the don't-fragment
//! bit: acknowledged, the size becomes the connection's; lost, the ceiling drops below it.
//! The first probe tries the ceiling itself (on loopback or a LAN it is the usual answer),
//! later ones halve the interval, until it is under 16 bytes. One probe is in flight at a
//! time, and its loss is not congestion: it does not cut the window.
//!
//! A lost probe still has to arrive, since uTP cannot repackage a sequence number's bytes:
//! it is resent *without* the don't-fragment bit, so IP fragments it if the path needs to,
//! as libtorrent does. Ordinary packets never ask for don't-fragment either, so a first
//! size above the path's MTU still works, fragmented; there is no search downwards.

/// The search stops when the interval left is narrower than this.
const RESOLUTION: usize = 16;

/// The search state of one connection.
#[derive(Debug, Clone)]
pub(crate) struct MtuSearch {
    /// The size ordinary packets use: the largest confirmed, or the initial size.
    current: usize,
    /// The largest size not known to fail.
    ceiling: usize,
    enabled: bool,
    /// The probe in flight: its sequence number and size.
    probe: Option<(u16, usize)>,
    tried_ceiling: bool,
}

impl MtuSearch {
    pub(crate) fn new(initial: usize, min: usize, max: usize, enabled: bool) -> Self {
        let max = max.max(min);
        Self {
            current: initial.clamp(min, max),
            ceiling: max,
            enabled,
            probe: None,
            tried_ceiling: false,
        }
    }

    /// The size of ordinary packets.
    pub(crate) fn packet_size(&self) -> usize {
        self.current
    }

    /// A new ceiling for the search (the caller learned what the peer takes): the search
    /// starts again towards it, or the size drops to it at once if it is lower.
    pub(crate) fn set_ceiling(&mut self, ceiling: usize, min: usize) {
        self.ceiling = ceiling.max(min);
        self.current = self.current.min(self.ceiling);
        self.tried_ceiling = false;
    }

    /// The size of the next probe, if one is due now.
    pub(crate) fn next_probe(&self) -> Option<usize> {
        if !self.enabled || self.probe.is_some() || self.ceiling < self.current + RESOLUTION {
            return None;
        }
        Some(if self.tried_ceiling {
            (self.current + self.ceiling).div_ceil(2)
        } else {
            self.ceiling
        })
    }

    /// A probe of `size` bytes went out as packet `seq`.
    pub(crate) fn probe_sent(&mut self, seq: u16, size: usize) {
        self.tried_ceiling |= size == self.ceiling;
        self.probe = Some((seq, size));
    }

    /// Packet `seq` was acknowledged; returns the new packet size if it was the probe.
    pub(crate) fn acked(&mut self, seq: u16) -> Option<usize> {
        let (probe, size) = self.probe.filter(|&(s, _)| s == seq)?;
        debug_assert_eq!(probe, seq);
        self.probe = None;
        self.current = self.current.max(size);
        Some(self.current)
    }

    /// Packet `seq` was lost (or timed out); returns whether it was the probe, whose loss
    /// says "too big", not "congested".
    pub(crate) fn lost(&mut self, seq: u16) -> bool {
        match self.probe {
            Some((s, size)) if s == seq => {
                self.probe = None;
                self.ceiling = size - 1;
                self.tried_ceiling = true;
                true
            }
            _ => false,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tries_the_ceiling_then_bisects() {
        let mut m = MtuSearch::new(1400, 548, 9000, true);
        assert_eq!(m.next_probe(), Some(9000));
        m.probe_sent(1, 9000);
        assert_eq!(m.next_probe(), None, "one probe at a time");
        assert!(m.lost(1));
        assert_eq!(m.next_probe(), Some(5200));
        m.probe_sent(2, 5200);
        assert!(!m.lost(3));
        assert_eq!(m.acked(2), Some(5200));
        assert_eq!(m.packet_size(), 5200);
        let mut probes = 0;
        while let Some(size) = m.next_probe() {
            probes += 1;
            m.probe_sent(10, size);
            if size <= 8000 {
                m.acked(10);
            } else {
                m.lost(10);
            }
        }
        assert!(probes < 10);
        assert!(
            (8000 - RESOLUTION..=8000).contains(&m.packet_size()),
            "{}",
            m.packet_size()
        );
    }

    #[test]
    fn a_new_ceiling_restarts_the_search() {
        let mut m = MtuSearch::new(1400, 548, 1452, true);
        m.probe_sent(1, 1452);
        m.acked(1);
        assert_eq!(m.next_probe(), None);
        m.set_ceiling(16_384, 548);
        assert_eq!(m.next_probe(), Some(16_384));
        m.set_ceiling(1000, 548);
        assert_eq!(m.packet_size(), 1000);
    }

    #[test]
    fn disabled_or_done() {
        assert_eq!(MtuSearch::new(1400, 548, 9000, false).next_probe(), None);
        let m = MtuSearch::new(1400, 548, 1400, true);
        assert_eq!(m.next_probe(), None);
        assert_eq!(MtuSearch::new(1400, 548, 1000, true).packet_size(), 1000);
    }
}
