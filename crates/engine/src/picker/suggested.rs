//! The suggested-piece pass: pieces a peer suggested (BEP 6 `Suggest`), started before
//! anything rarest-first would choose.

use super::Picker;
use crate::PeerKey;
use shoal_core::BlockRef;

impl Picker {
    /// Starts pieces a peer suggested (BEP 6 `Suggest`), in the order given, as long as we
    /// lack them, nobody is fetching them yet, and `usable(i)` allows them; up to `max`
    /// blocks. A seed suggests what it has not uploaded yet, which is rarer than anything
    /// our availability counts can show. Call before [`Picker::pick`].
    pub fn pick_suggested(
        &mut self,
        peer: PeerKey,
        max: usize,
        suggested: &[u32],
        usable: impl Fn(u32) -> bool,
        out: &mut Vec<BlockRef>,
    ) {
        let start = out.len();
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
        // Piece 5 is already in progress from A; 9 does not exist; 4 is not usable.
        p.pick(A, 1, false, |i| i == 5, |_| true, &mut out);
        out.clear();
        p.pick_suggested(B, 3, &[9, 5, 4, 2, 1], |i| i != 4, &mut out);
        let pieces: Vec<u32> = out.iter().map(|b| b.piece.get()).collect();
        assert_eq!(
            pieces,
            vec![2, 2, 1],
            "whole pieces, in the order suggested, up to max"
        );
    }
}
