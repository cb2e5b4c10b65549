//! Endgame: once every missing block is requested, the same block is asked of a few peers
//! so that one slow peer does not hold up the end of the download; the first copy in wins
//! and the other requesters are cancelled (see `delivery.rs`).

use super::partial::BlockState;
use super::Picker;
use crate::PeerKey;
use shoal_core::BlockRef;

/// How many peers may have the same block requested in endgame mode.
const MAX_ENDGAME_REQUESTERS: usize = 3;

impl Picker {
    /// Endgame starts when every missing piece is in progress and none has a free block.
    pub(crate) fn in_endgame(&self) -> bool {
        let missing = self.lengths.num_pieces() - self.have.count() - self.verifying.count();
        missing as usize == self.partial.len()
            && self
                .partial
                .values()
                .all(|p| p.blocks.iter().all(|b| !matches!(b, BlockState::Free)))
    }

    /// Asks `peer` for blocks already requested from other peers (but from fewer than
    /// [`MAX_ENDGAME_REQUESTERS`]), in pieces `usable` allows, until `out` holds `max` blocks
    /// beyond `start`.
    pub(super) fn pick_endgame(
        &mut self,
        peer: PeerKey,
        max: usize,
        start: usize,
        usable: &impl Fn(u32) -> bool,
        out: &mut Vec<BlockRef>,
    ) {
        for (&piece, partial) in self.partial.iter_mut() {
            if out.len() - start >= max {
                return;
            }
            if !usable(piece.get()) || partial.owner.is_some_and(|o| o != peer) {
                continue;
            }
            for (i, state) in partial.blocks.iter_mut().enumerate() {
                if out.len() - start >= max {
                    break;
                }
                if let BlockState::Requested(peers) = state {
                    if peers.len() < MAX_ENDGAME_REQUESTERS && !peers.contains(&peer) {
                        peers.push(peer);
                        if let Some(b) = self.lengths.block(piece, i as u32) {
                            out.push(b);
                        }
                    }
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::super::testing::{picker, A, B};
    use crate::PeerKey;
    use shoal_core::BLOCK_SIZE;

    #[test]
    fn endgame_duplicates_and_cancels() {
        let mut p = picker(1, 2 * BLOCK_SIZE);
        let mut out = Vec::new();
        p.pick(A, 10, false, |_| true, |_| true, &mut out);
        assert_eq!(out.len(), 2);
        out.clear();
        p.pick(B, 10, false, |_| true, |_| true, &mut out);
        assert_eq!(out.len(), 2, "endgame lets B request the same blocks");
        let r = p.block_received(&out[0], B);
        assert!(r.fresh);
        assert_eq!(r.cancel, vec![A]);
        let dup = p.block_received(&out[0], A);
        assert!(!dup.fresh);
        let r = p.block_received(&out[1], A);
        assert!(r.piece_complete);
        assert_eq!(p.piece_verified(out[0].piece, true), Vec::<PeerKey>::new());
        assert!(p.is_complete());
    }
}
