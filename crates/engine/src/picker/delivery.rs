//! What becomes of requested blocks: delivered (first copy wins, other requesters are
//! cancelled), dropped (the block is free again), and of whole pieces: verified, or failed
//! and blamed on the peers that sent them.

use super::partial::BlockState;
use super::Picker;
use crate::PeerKey;
use shoal_core::{BlockRef, PieceIndex};

/// What receiving a block changed.
#[derive(Debug, Default, PartialEq, Eq)]
pub(crate) struct BlockReceived {
    /// False when the block was already received (a duplicate from endgame); drop it.
    pub fresh: bool,
    /// Every block of the piece is now received: verify it.
    pub piece_complete: bool,
    /// Other peers that also had this block requested; send them a Cancel.
    pub cancel: Vec<PeerKey>,
}

impl Picker {
    /// Whether `peer` currently has `block` requested (so a delivery is expected).
    pub(crate) fn is_requested_by(&self, block: &BlockRef, peer: PeerKey) -> bool {
        self.partial
            .get(&block.piece)
            .and_then(|p| p.blocks.get(block.block_index() as usize))
            .is_some_and(|s| matches!(s, BlockState::Requested(peers) if peers.contains(&peer)))
    }

    /// Records a delivered block.
    pub(crate) fn block_received(&mut self, block: &BlockRef, from: PeerKey) -> BlockReceived {
        let Some(partial) = self.partial.get_mut(&block.piece) else {
            return BlockReceived::default();
        };
        let Some(state) = partial.blocks.get_mut(block.block_index() as usize) else {
            return BlockReceived::default();
        };
        let cancel = match std::mem::replace(state, BlockState::Received) {
            BlockState::Received => return BlockReceived::default(),
            BlockState::Free => Vec::new(),
            BlockState::Requested(mut peers) => {
                peers.retain(|p| *p != from);
                peers
            }
        };
        partial.received += 1;
        if !partial.contributors.contains(&from) {
            partial.contributors.push(from);
        }
        let piece_complete = partial.is_fully_received();
        if piece_complete {
            self.verifying.set(block.piece.get());
        }
        BlockReceived {
            fresh: true,
            piece_complete,
            cancel,
        }
    }

    /// A request of ours to `peer` will not be answered (rejected, choked, timed out, gone).
    pub(crate) fn request_dropped(&mut self, block: &BlockRef, peer: PeerKey) {
        let Some(partial) = self.partial.get_mut(&block.piece) else {
            return;
        };
        if let Some(state @ BlockState::Requested(_)) =
            partial.blocks.get_mut(block.block_index() as usize)
        {
            if let BlockState::Requested(peers) = state {
                peers.retain(|p| *p != peer);
                if peers.is_empty() {
                    *state = BlockState::Free;
                }
            }
        }
        if partial.owner == Some(peer)
            && !partial
                .blocks
                .iter()
                .any(|b| matches!(b, BlockState::Requested(_)))
        {
            // The exclusive owner stopped; let another single peer finish the piece.
            partial.owner = None;
        }
    }

    /// The peers that sent blocks of an unfinished or unverified piece.
    pub(crate) fn contributors(&self, piece: PieceIndex) -> Vec<PeerKey> {
        self.partial
            .get(&piece)
            .map(|p| p.contributors.clone())
            .unwrap_or_default()
    }

    /// Result of hashing a fully received piece. On failure returns the peers that sent its
    /// blocks; the piece starts over.
    pub(crate) fn piece_verified(&mut self, piece: PieceIndex, ok: bool) -> Vec<PeerKey> {
        self.verifying.clear(piece.get());
        let partial = self.partial.remove(&piece);
        if ok {
            self.have.set(piece.get());
            Vec::new()
        } else {
            self.failed_before.set(piece.get());
            partial.map(|p| p.contributors).unwrap_or_default()
        }
    }

    /// Marks a piece as had without a download (tests set up a picker this way).
    #[cfg(test)]
    pub(crate) fn set_have(&mut self, piece: PieceIndex) {
        self.partial.remove(&piece);
        self.verifying.clear(piece.get());
        self.have.set(piece.get());
    }
}

#[cfg(test)]
mod tests {
    use super::super::testing::{picker, A, B};
    use shoal_core::BLOCK_SIZE;

    #[test]
    fn failed_piece_is_refetched_from_one_peer_and_blames_contributors() {
        let mut p = picker(1, 2 * BLOCK_SIZE);
        let mut a = Vec::new();
        p.pick(A, 1, false, |_| true, |_| true, &mut a);
        let mut b = Vec::new();
        p.pick(B, 1, false, |_| true, |_| true, &mut b);
        p.block_received(&a[0], A);
        assert!(p.block_received(&b[0], B).piece_complete);
        let mut blamed = p.piece_verified(a[0].piece, false);
        blamed.sort();
        assert_eq!(blamed, vec![A, B]);
        a.clear();
        p.pick(A, 1, false, |_| true, |_| true, &mut a);
        b.clear();
        p.pick(B, 10, false, |_| true, |_| true, &mut b);
        assert!(b.is_empty(), "the retried piece belongs to A alone");
    }

    #[test]
    fn dropped_request_frees_the_block() {
        let mut p = picker(1, BLOCK_SIZE);
        let mut out = Vec::new();
        p.pick(A, 1, false, |_| true, |_| true, &mut out);
        p.request_dropped(&out[0], A);
        let mut again = Vec::new();
        p.pick(B, 1, false, |_| true, |_| true, &mut again);
        assert_eq!(again, out);
        assert!(p.is_requested_by(&out[0], B));
        assert!(!p.is_requested_by(&out[0], A));
    }
}
