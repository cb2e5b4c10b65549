//! Pieces in progress, block by block: which blocks are free, requested (and from whom) or
//! received, who contributed, and whether the piece is reserved for one peer.

use super::Picker;
use crate::PeerKey;
use shoal_core::{BlockRef, Lengths, PieceIndex};

#[derive(Debug, Clone, PartialEq, Eq)]
pub(super) enum BlockState {
    Free,
    Requested(Vec<PeerKey>),
    Received,
}

#[derive(Debug)]
pub(super) struct PartialPiece {
    pub(super) blocks: Vec<BlockState>,
    pub(super) received: u32,
    /// Peers that delivered at least one block, for blame when the hash fails.
    pub(super) contributors: Vec<PeerKey>,
    /// After a hash failure the piece is fetched from a single peer so that blame is clear.
    pub(super) exclusive: bool,
    /// The peer that owns an exclusive piece.
    pub(super) owner: Option<PeerKey>,
}

impl PartialPiece {
    pub(super) fn is_fully_received(&self) -> bool {
        self.received as usize == self.blocks.len()
    }
}

impl Picker {
    /// Starts fetching `piece` from `peer`, taking up to `max` of its blocks. An `exclusive`
    /// piece (it failed its hash before) belongs to that peer alone, so blame stays clear.
    pub(super) fn start_piece(
        &mut self,
        piece: PieceIndex,
        peer: PeerKey,
        exclusive: bool,
        max: usize,
        out: &mut Vec<BlockRef>,
    ) {
        let mut partial = PartialPiece {
            blocks: vec![BlockState::Free; self.lengths.blocks_in_piece(piece) as usize],
            received: 0,
            contributors: Vec::new(),
            exclusive,
            owner: exclusive.then_some(peer),
        };
        take_free_blocks(&self.lengths, piece, &mut partial, peer, max, out);
        self.partial.insert(piece, partial);
    }
}

/// Marks up to `max` free blocks of `piece` requested by `peer` and appends them to `out`.
pub(super) fn take_free_blocks(
    lengths: &Lengths,
    piece: PieceIndex,
    partial: &mut PartialPiece,
    peer: PeerKey,
    max: usize,
    out: &mut Vec<BlockRef>,
) {
    let mut taken = 0;
    for (i, state) in partial.blocks.iter_mut().enumerate() {
        if taken >= max {
            break;
        }
        if *state == BlockState::Free {
            if let Some(b) = lengths.block(piece, i as u32) {
                *state = BlockState::Requested(vec![peer]);
                out.push(b);
                taken += 1;
            }
        }
    }
}
