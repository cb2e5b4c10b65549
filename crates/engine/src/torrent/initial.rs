//! Initial seeding: while some block of the torrent has never left a seed that started
//! complete, the seed spends its upload on those blocks first.
//!
//! A new torrent's only copy is its seed, and nothing in the swarm can finish before every
//! block has left the seed once. Leechers pick rarest-first, but those that cannot see each
//! other (or ask at the same moment) pick the same pieces, and every block the seed sends
//! twice in that phase delays the whole swarm by a block time. So, with BEP 6 peers only:
//!
//! - when a peer asks for a block that already went out while the peer lacks a piece that
//!   never did, the request is rejected (`Reject`) and that piece suggested instead
//!   (`Suggest`); our own picker honours both (see `download.rs`);
//! - a peer we unchoke is suggested untouched pieces straight away, each peer different
//!   ones (a cursor walks the pieces), so first requests already spread.
//!
//! The phase ends for good once every block was handed out once; a block handed out but
//! dropped before it was sent (choke, disconnect) counts as untouched again. Peers without
//! BEP 6 are served as usual, since they cannot be told no without a choke.

use shoal_core::{Bitfield, BlockRef, Lengths};

/// Untouched pieces suggested to a peer when we unchoke it.
pub(super) const SUGGEST_ON_UNCHOKE: usize = 2;

#[derive(Debug)]
pub(super) struct InitialSeeding {
    lengths: Lengths,
    blocks_per_piece: u32,
    /// Blocks handed out (queued, being sent or sent), at `piece * blocks_per_piece + i`.
    given: Bitfield,
    /// Blocks handed out per piece.
    per_piece: Vec<u32>,
    /// Blocks in the torrent not handed out yet.
    remaining: u32,
    /// Where the next search for an untouched piece starts.
    cursor: u32,
}

impl InitialSeeding {
    pub fn new(lengths: &Lengths) -> InitialSeeding {
        let blocks_per_piece = lengths.piece_length().div_ceil(shoal_core::BLOCK_SIZE);
        let n = lengths.num_pieces();
        InitialSeeding {
            lengths: *lengths,
            blocks_per_piece,
            given: Bitfield::new(n * blocks_per_piece),
            per_piece: vec![0; n as usize],
            remaining: lengths.pieces().map(|p| lengths.blocks_in_piece(p)).sum(),
            cursor: 0,
        }
    }

    /// Whether every block was handed out once (the phase is over).
    pub fn done(&self) -> bool {
        self.remaining == 0
    }

    fn index(&self, block: &BlockRef) -> u32 {
        block.piece.get() * self.blocks_per_piece + block.block_index()
    }

    /// Whether `block` went out already.
    pub fn given(&self, block: &BlockRef) -> bool {
        self.given.get(self.index(block))
    }

    /// Notes that `block` is handed out.
    pub fn give(&mut self, block: &BlockRef) {
        if self.given.set(self.index(block)) {
            self.remaining -= 1;
            self.per_piece[block.piece.get() as usize] += 1;
        }
    }

    /// A block handed out was dropped before it was sent: it counts as untouched again.
    pub fn take_back(&mut self, block: &BlockRef) {
        if self.given.clear(self.index(block)) {
            self.remaining += 1;
            self.per_piece[block.piece.get() as usize] -= 1;
        }
    }

    /// Up to `max` pieces with blocks that never went out, that `peer_has` says the peer
    /// lacks: untouched pieces first, then pieces partly handed out (blocks dropped before
    /// they were sent). The search starts after the last piece suggested, so that peers get
    /// different ones.
    pub fn untouched_for(&mut self, peer_has: impl Fn(u32) -> bool, max: usize) -> Vec<u32> {
        let n = self.per_piece.len() as u32;
        let mut out = Vec::new();
        for untouched in [true, false] {
            for step in 0..n {
                if out.len() >= max {
                    break;
                }
                let i = (self.cursor + step) % n;
                let given = self.per_piece[i as usize];
                let fits = if untouched {
                    given == 0
                } else {
                    given > 0 && given < self.blocks_in(i)
                };
                if fits && !peer_has(i) {
                    out.push(i);
                }
            }
        }
        if let Some(&last) = out.last() {
            self.cursor = (last + 1) % n.max(1);
        }
        out
    }

    fn blocks_in(&self, piece: u32) -> u32 {
        self.lengths
            .validate_piece(piece)
            .map_or(0, |p| self.lengths.blocks_in_piece(p))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use shoal_core::BLOCK_SIZE;

    #[test]
    fn the_phase_ends_once_every_block_went_out_and_returns_with_a_dropped_one() {
        let lengths = Lengths::new(3 * BLOCK_SIZE as u64 + 100, 2 * BLOCK_SIZE).unwrap();
        let mut s = InitialSeeding::new(&lengths);
        let blocks: Vec<BlockRef> = lengths.pieces().flat_map(|p| lengths.blocks(p)).collect();
        assert_eq!(blocks.len(), 4);
        for b in &blocks {
            assert!(!s.done());
            s.give(b);
            s.give(b);
        }
        assert!(s.done());
        s.take_back(&blocks[1]);
        assert!(!s.done() && !s.given(&blocks[1]) && s.given(&blocks[0]));
    }

    #[test]
    fn suggestions_skip_touched_pieces_and_rotate() {
        let lengths = Lengths::new(4 * BLOCK_SIZE as u64, BLOCK_SIZE).unwrap();
        let mut s = InitialSeeding::new(&lengths);
        s.give(
            &lengths
                .block(lengths.validate_piece(1).unwrap(), 0)
                .unwrap(),
        );
        assert_eq!(s.untouched_for(|_| false, 2), vec![0, 2]);
        assert_eq!(s.untouched_for(|_| false, 2), vec![3, 0]);
        assert_eq!(s.untouched_for(|i| i != 2, 5), vec![2]);
        // Pieces partly handed out come after untouched ones.
        let lengths = Lengths::new(4 * BLOCK_SIZE as u64, 2 * BLOCK_SIZE).unwrap();
        let mut s = InitialSeeding::new(&lengths);
        s.give(
            &lengths
                .block(lengths.validate_piece(0).unwrap(), 0)
                .unwrap(),
        );
        assert_eq!(s.untouched_for(|_| false, 5), vec![1, 0]);
    }
}
