//! The suggested-piece pass: pieces a peer suggested (BEP 6 `Suggest`), started before
//! anything rarest-first would choose.

use super::Picker;
use crate::PeerKey;
use shoal_core::BlockRef;

impl Picker {
    /// Finishes pieces in progress, then starts pieces a peer suggested (BEP 6 `Suggest`)
    /// in the order given, as long as we lack them, nobody is fetching them yet, and
    /// `usable(i)` allows them; up to `max` blocks. A seed suggests what it has not uploaded
    /// yet, which is rarer than anything our availability counts can show. Call before
    /// [`Picker::pick`]; `from_seed` as its `only_unique`.
    ///
    /// Pieces in progress come first because only a whole piece can be passed on: a seed
    /// in initial seeding suggests a new piece with every refusal, and starting one per
    /// suggestion (one block each, as the pipeline refills a block at a time) had a leecher
    /// holding the first block of fifteen pieces, each finished seconds later.
    pub(crate) fn pick_suggested(
        &mut self,
        peer: PeerKey,
        max: usize,
        from_seed: bool,
        suggested: &[u32],
        usable: impl Fn(u32) -> bool,
        out: &mut Vec<BlockRef>,
    ) {
        let start = out.len();
        self.continue_partials(
            peer,
            max,
            start,
            |i, available| usable(i) && (!from_seed || available <= 1),
            out,
        );
        for &i in suggested {
            if out.len() - start >= max {
                break;
            }
            let Some(piece) = self.lengths.validate_piece(i) else {
                continue;
            };
            if !self.wants(piece)
                || self.partial.contains_key(&piece)
                || self.failed_before.get(i)
                || !usable(i)
            {
                continue;
            }
            self.start_piece(piece, peer, false, max - (out.len() - start), out);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::super::testing::{picker, A, B};
    use shoal_core::BLOCK_SIZE;

    #[test]
    fn starts_suggested_pieces_in_order_and_skips_what_it_cannot_use() {
        let mut p = picker(6, 2 * BLOCK_SIZE);
        let mut out = Vec::new();
        // Piece 5 is already fully requested from A; 9 does not exist; 4 is not usable.
        p.pick(A, 2, false, |i| i == 5, |_| true, &mut out);
        out.clear();
        p.pick_suggested(B, 3, false, &[9, 5, 4, 2, 1], |i| i != 4, &mut out);
        let pieces: Vec<u32> = out.iter().map(|b| b.piece.get()).collect();
        assert_eq!(
            pieces,
            vec![2, 2, 1],
            "whole pieces, in the order suggested, up to max"
        );
    }

    #[test]
    fn finishes_a_piece_in_progress_before_starting_a_suggested_one() {
        let mut p = picker(6, 4 * BLOCK_SIZE);
        let mut out = Vec::new();
        // A pipeline refilled one block at a time, with a new suggestion each time.
        for suggestion in [1, 2, 3] {
            p.pick_suggested(B, 1, true, &[suggestion], |_| true, &mut out);
        }
        let pieces: Vec<u32> = out.iter().map(|b| b.piece.get()).collect();
        assert_eq!(pieces, vec![1, 1, 1], "one piece at a time: {out:?}");
        // From a seed, a piece other peers also have is left to them.
        let mut q = picker(6, 4 * BLOCK_SIZE);
        let mut out = Vec::new();
        q.pick(A, 1, false, |i| i == 0, |_| true, &mut out);
        q.peer_has(q.lengths().validate_piece(0).unwrap());
        q.peer_has(q.lengths().validate_piece(0).unwrap());
        out.clear();
        q.pick_suggested(B, 1, true, &[4], |_| true, &mut out);
        assert_eq!(
            out.iter().map(|b| b.piece.get()).collect::<Vec<_>>(),
            vec![4]
        );
    }
}
