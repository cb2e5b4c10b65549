//! The unique-first pass: what a peer that has every piece (a seed) is asked for first.
//!
//! A seed's upload is spared: the caller asks a peer that has every piece first for pieces
//! no other connected peer has (`only_unique` in [`Picker::pick`]), then for the rest. In a
//! young swarm the seed's upload is what limits everyone, and each of its blocks spent
//! finishing a piece that another leecher could forward is a block of a never-sent piece the
//! swarm waits for, so without this pass the seed ends up sending much of the content twice
//! before the last leecher finishes (figures in docs/performance.md).

use super::Picker;
use crate::PeerKey;
use shoal_core::BlockRef;

impl Picker {
    /// Finishes, then starts, pieces that `usable` allows and no other connected peer has
    /// (availability at most one: the peer itself), until `out` holds `max` blocks beyond
    /// `start`. No endgame duplicates: those would spend the seed's upload on blocks already
    /// on their way.
    pub(super) fn pick_unique(
        &mut self,
        peer: PeerKey,
        max: usize,
        start: usize,
        usable: &impl Fn(u32) -> bool,
        out: &mut Vec<BlockRef>,
    ) {
        self.continue_partials(peer, max, start, |i, a| usable(i) && a <= 1, out);
        self.start_rarest(peer, max, start, usable, 1, out);
    }
}

#[cfg(test)]
mod tests {
    use super::super::testing::{picker, A};
    use crate::PeerKey;
    use shoal_core::{Bitfield, BLOCK_SIZE};

    #[test]
    fn only_unique_takes_pieces_nobody_else_has() {
        const SEED: PeerKey = PeerKey(3);
        let mut p = picker(4, 4 * BLOCK_SIZE);
        // Leecher A has piece 0; the seed has everything.
        let zero = p.lengths().validate_piece(0).unwrap();
        p.peer_has(zero);
        p.peer_has_bitfield(&Bitfield::full(4));
        let mut out = Vec::new();
        p.pick(A, 2, false, |i| i == 0, |_| true, &mut out);
        assert!(out.iter().all(|b| b.piece.get() == 0));
        out.clear();
        // From the seed: never-started pieces, not the rest of piece 0.
        p.pick(SEED, 16, true, |_| true, |_| true, &mut out);
        assert_eq!(out.len(), 12);
        assert!(out.iter().all(|b| b.piece.get() != 0), "{out:?}");
        // An ordinary pick takes the rest of the shared piece.
        out.clear();
        p.pick(SEED, 2, false, |_| true, |_| true, &mut out);
        assert_eq!(out.len(), 2);
        assert!(out.iter().all(|b| b.piece.get() == 0));
    }

    #[test]
    fn a_seed_finishes_what_only_it_has() {
        const SEED: PeerKey = PeerKey(3);
        let mut p = picker(4, 4 * BLOCK_SIZE);
        p.peer_has_bitfield(&Bitfield::full(4));
        let mut out = Vec::new();
        p.pick(SEED, 2, true, |_| true, |_| true, &mut out);
        let first = out[0].piece;
        out.clear();
        p.pick(SEED, 2, true, |_| true, |_| true, &mut out);
        assert!(out.iter().all(|b| b.piece == first), "{out:?}");
    }
}
