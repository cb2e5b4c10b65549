//! Fetching the info dictionary from peers for a magnet link (BEP 9, ut_metadata).
//!
//! The metadata is cut into 16 KiB pieces; each is asked of one peer at a time. Once all
//! have arrived the torrent checks the SHA-1 against the info-hash; on a mismatch the whole
//! buffer is discarded and fetched again.

use crate::PeerKey;
use shoal_wire::ext::METADATA_PIECE_LEN;
use std::time::{Duration, Instant};

/// Largest metadata we accept; real torrents stay far below (a 16 MiB info holds ~800k pieces).
pub(crate) const MAX_METADATA_SIZE: u64 = 32 * 1024 * 1024;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Slot {
    Missing,
    Requested(PeerKey, Instant),
    Received,
}

#[derive(Debug, Default)]
pub(crate) struct MetadataFetch {
    size: usize,
    buf: Vec<u8>,
    slots: Vec<Slot>,
}

/// What a `Data` message did.
#[derive(Debug, PartialEq, Eq)]
pub(crate) enum DataOutcome {
    Ignored,
    Stored,
    /// Every piece is in: the full buffer, to be hashed.
    Complete(Vec<u8>),
}

impl MetadataFetch {
    pub(crate) fn size_known(&self) -> bool {
        self.size > 0
    }

    /// Adopts the size a peer announced, if none is known yet and it is sane.
    pub(crate) fn offer_size(&mut self, size: u64) {
        if self.size_known() || size == 0 || size > MAX_METADATA_SIZE {
            return;
        }
        self.size = size as usize;
        self.buf = vec![0; self.size];
        self.slots = vec![Slot::Missing; self.size.div_ceil(METADATA_PIECE_LEN)];
    }

    /// The next piece to ask `peer` for, if any is missing.
    pub(crate) fn next_request(&mut self, peer: PeerKey, now: Instant) -> Option<u32> {
        let i = self.slots.iter().position(|s| *s == Slot::Missing)?;
        self.slots[i] = Slot::Requested(peer, now);
        Some(i as u32)
    }

    pub(crate) fn on_data(
        &mut self,
        peer: PeerKey,
        piece: u32,
        total_size: u64,
        data: &[u8],
    ) -> DataOutcome {
        if total_size != self.size as u64 {
            return DataOutcome::Ignored;
        }
        let i = piece as usize;
        let Some(slot) = self.slots.get(i) else {
            return DataOutcome::Ignored;
        };
        if !matches!(slot, Slot::Requested(p, _) if *p == peer) {
            return DataOutcome::Ignored;
        }
        let start = i * METADATA_PIECE_LEN;
        let expected = (self.size - start).min(METADATA_PIECE_LEN);
        if data.len() != expected {
            self.slots[i] = Slot::Missing;
            return DataOutcome::Ignored;
        }
        self.buf[start..start + expected].copy_from_slice(data);
        self.slots[i] = Slot::Received;
        if self.slots.iter().all(|s| *s == Slot::Received) {
            let full = std::mem::take(&mut self.buf);
            *self = MetadataFetch::default();
            DataOutcome::Complete(full)
        } else {
            DataOutcome::Stored
        }
    }

    /// Frees the peer's requested pieces (reject, disconnect).
    pub(crate) fn release_peer(&mut self, peer: PeerKey) {
        for s in &mut self.slots {
            if matches!(s, Slot::Requested(p, _) if *p == peer) {
                *s = Slot::Missing;
            }
        }
    }

    pub(crate) fn release_piece(&mut self, peer: PeerKey, piece: u32) {
        if let Some(s) = self.slots.get_mut(piece as usize) {
            if matches!(s, Slot::Requested(p, _) if *p == peer) {
                *s = Slot::Missing;
            }
        }
    }

    /// Frees requests older than `timeout`; returns the peers that were too slow.
    pub(crate) fn expire(&mut self, now: Instant, timeout: Duration) -> Vec<PeerKey> {
        let mut slow = Vec::new();
        for s in &mut self.slots {
            if let Slot::Requested(p, at) = *s {
                if now.saturating_duration_since(at) > timeout {
                    *s = Slot::Missing;
                    slow.push(p);
                }
            }
        }
        slow
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn assembles_pieces_in_any_order() {
        let now = Instant::now();
        let data: Vec<u8> = (0..40_000u32).map(|i| i as u8).collect();
        let mut m = MetadataFetch::default();
        m.offer_size(data.len() as u64);
        let a = m.next_request(PeerKey(1), now).unwrap();
        let b = m.next_request(PeerKey(2), now).unwrap();
        let c = m.next_request(PeerKey(1), now).unwrap();
        assert_eq!((a, b, c), (0, 1, 2));
        assert!(m.next_request(PeerKey(3), now).is_none());
        assert_eq!(
            m.on_data(PeerKey(1), 2, 40_000, &data[32768..]),
            DataOutcome::Stored
        );
        assert_eq!(
            m.on_data(PeerKey(9), 0, 40_000, &data[..16384]),
            DataOutcome::Ignored,
            "not asked of that peer"
        );
        assert_eq!(
            m.on_data(PeerKey(1), 0, 40_000, &data[..16384]),
            DataOutcome::Stored
        );
        assert_eq!(
            m.on_data(PeerKey(2), 1, 40_000, &data[16384..32768]),
            DataOutcome::Complete(data)
        );
    }

    #[test]
    fn refuses_absurd_sizes_and_wrong_lengths() {
        let now = Instant::now();
        let mut m = MetadataFetch::default();
        m.offer_size(MAX_METADATA_SIZE + 1);
        assert!(!m.size_known());
        m.offer_size(100);
        let p = m.next_request(PeerKey(1), now).unwrap();
        assert_eq!(
            m.on_data(PeerKey(1), p, 100, &[0; 99]),
            DataOutcome::Ignored
        );
        assert_eq!(
            m.next_request(PeerKey(2), now),
            Some(0),
            "a bad piece is asked again"
        );
    }

    #[test]
    fn expired_requests_are_reassigned() {
        let now = Instant::now();
        let mut m = MetadataFetch::default();
        m.offer_size(10);
        m.next_request(PeerKey(1), now);
        assert!(m
            .expire(now + Duration::from_secs(5), Duration::from_secs(10))
            .is_empty());
        assert_eq!(
            m.expire(now + Duration::from_secs(11), Duration::from_secs(10)),
            vec![PeerKey(1)]
        );
        assert_eq!(m.next_request(PeerKey(2), now), Some(0));
    }
}
