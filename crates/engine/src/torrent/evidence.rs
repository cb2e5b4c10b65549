//! Who sent the bad block of a piece that failed its hash check, found by comparing data.
//!
//! A piece fed by several peers that fails its hash says only that one of them lied. Striking
//! every contributor bans honest peers that happen to share pieces with a liar (in a big swarm
//! they share many). Instead, the blocks of every piece in progress are kept (as `Bytes`
//! clones: a reference count, not a copy of the data the driver holds anyway); when a piece
//! fails they are set aside, and when the piece later passes, each set-aside block is compared
//! with the good one at its offset. The senders of the blocks that differ are certainly
//! guilty; those whose blocks matched are cleared. A piece fed by one peer alone is judged at
//! once by the caller, no comparison needed.

use super::PeerKey;
use bytes::Bytes;
use std::collections::BTreeMap;

/// Failed pieces whose blocks are kept for comparison; the oldest are forgotten first.
const MAX_SUSPECT_PIECES: usize = 32;

#[derive(Debug, Clone)]
struct Block {
    from: PeerKey,
    offset: u32,
    data: Bytes,
}

#[derive(Debug, Default)]
pub(super) struct Evidence {
    /// Blocks received for pieces in progress, by piece.
    current: BTreeMap<u32, Vec<Block>>,
    /// Blocks of pieces that failed, waiting for a good copy to be compared with, with the
    /// order in which they failed (to forget the oldest first).
    suspect: BTreeMap<u32, (u64, Vec<Block>)>,
    failures: u64,
}

impl Evidence {
    /// Notes a fresh block of a piece in progress.
    pub(super) fn block(&mut self, piece: u32, offset: u32, from: PeerKey, data: Bytes) {
        self.current
            .entry(piece)
            .or_default()
            .push(Block { from, offset, data });
    }

    /// The piece failed its hash check: keep its blocks until a good copy arrives.
    pub(super) fn failed(&mut self, piece: u32) {
        let blocks = self.current.remove(&piece).unwrap_or_default();
        if blocks.is_empty() {
            return;
        }
        self.failures += 1;
        // A piece failing again keeps the blocks of its first failure: they hold the lie.
        self.suspect.entry(piece).or_insert((self.failures, blocks));
        if self.suspect.len() > MAX_SUSPECT_PIECES {
            let oldest = self
                .suspect
                .iter()
                .min_by_key(|(_, (n, _))| *n)
                .map(|(&p, _)| p);
            if let Some(oldest) = oldest {
                self.suspect.remove(&oldest);
            }
        }
    }

    /// The piece passed its hash check: returns the peers whose earlier blocks of it differ
    /// from the good ones (each once, in the order first seen).
    pub(super) fn passed(&mut self, piece: u32) -> Vec<PeerKey> {
        let good = self.current.remove(&piece).unwrap_or_default();
        let Some((_, bad)) = self.suspect.remove(&piece) else {
            return Vec::new();
        };
        let mut guilty = Vec::new();
        for b in bad {
            let matches = good
                .iter()
                .any(|g| g.offset == b.offset && g.data == b.data);
            if !matches && !guilty.contains(&b.from) {
                guilty.push(b.from);
            }
        }
        guilty
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const A: PeerKey = PeerKey(1);
    const B: PeerKey = PeerKey(2);
    const C: PeerKey = PeerKey(3);

    #[test]
    fn the_sender_of_the_differing_block_is_found_and_no_one_else() {
        let mut e = Evidence::default();
        e.block(4, 0, A, Bytes::from_static(b"good0"));
        e.block(4, 5, B, Bytes::from_static(b"LIE!!"));
        e.block(4, 10, A, Bytes::from_static(b"good2"));
        e.failed(4);
        assert!(e.passed(5).is_empty(), "another piece proves nothing");
        e.block(4, 0, C, Bytes::from_static(b"good0"));
        e.block(4, 5, C, Bytes::from_static(b"good1"));
        e.block(4, 10, C, Bytes::from_static(b"good2"));
        assert_eq!(e.passed(4), vec![B]);
        assert!(e.passed(4).is_empty(), "judged once");
    }

    #[test]
    fn suspects_are_bounded() {
        let mut e = Evidence::default();
        for piece in 0..100 {
            e.block(piece, 0, A, Bytes::from_static(b"x"));
            e.failed(piece);
        }
        assert_eq!(e.suspect.len(), MAX_SUSPECT_PIECES);
        e.block(99, 0, B, Bytes::from_static(b"y"));
        assert_eq!(e.passed(99), vec![A]);
        e.block(0, 0, B, Bytes::from_static(b"y"));
        assert!(e.passed(0).is_empty(), "the oldest failure was forgotten");
    }
}
