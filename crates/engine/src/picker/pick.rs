//! The ordinary pick: finish pieces in progress, then start the rarest pieces the peer has,
//! then, in endgame, double up on blocks already requested.

use super::partial::take_free_blocks;
use super::Picker;
use crate::PeerKey;
use shoal_core::{BlockRef, PieceIndex};

impl Picker {
    /// Chooses up to `max` blocks for `peer` to request. `peer_has(i)` says whether the peer
    /// has piece `i`; `allowed(i)` restricts picking further (e.g. to allowed-fast pieces when
    /// choked); `only_unique` takes only pieces no other connected peer has (from a seed,
    /// see `unique.rs`), and no endgame duplicates. Returned blocks are marked requested by
    /// `peer`.
    pub(crate) fn pick(
        &mut self,
        peer: PeerKey,
        max: usize,
        only_unique: bool,
        peer_has: impl Fn(u32) -> bool,
        allowed: impl Fn(u32) -> bool,
        out: &mut Vec<BlockRef>,
    ) {
        if max == 0 {
            return;
        }
        let start = out.len();
        let usable = |i: u32| peer_has(i) && allowed(i);
        if only_unique {
            self.pick_unique(peer, max, start, &usable, out);
            return;
        }

        // 1. Finish what is in progress.
        self.continue_partials(peer, max, start, |i, _| usable(i), out);

        // 2. Start new pieces, rarest first.
        self.start_rarest(peer, max, start, &usable, u32::MAX, out);

        // 3. Endgame: nothing untouched is left for this peer, so double up on requested blocks.
        if out.len() - start < max && self.in_endgame() {
            self.pick_endgame(peer, max, start, &usable, out);
        }
    }

    /// Takes free blocks of in-progress pieces that `fits(piece, availability)` for `peer`,
    /// until `out` holds `max` blocks beyond `start`.
    pub(super) fn continue_partials(
        &mut self,
        peer: PeerKey,
        max: usize,
        start: usize,
        fits: impl Fn(u32, u32) -> bool,
        out: &mut Vec<BlockRef>,
    ) {
        for (&piece, partial) in self.partial.iter_mut() {
            if out.len() - start >= max {
                return;
            }
            let i = piece.get();
            if !fits(i, self.availability[i as usize]) || partial.owner.is_some_and(|o| o != peer) {
                continue;
            }
            if partial.exclusive && partial.owner.is_none() {
                partial.owner = Some(peer);
            }
            take_free_blocks(
                &self.lengths,
                piece,
                partial,
                peer,
                max - (out.len() - start),
                out,
            );
        }
    }

    /// Starts untouched pieces that `usable` allows and at most `most_available` connected
    /// peers have, rarest first, until `out` holds `max` blocks beyond `start`.
    pub(super) fn start_rarest(
        &mut self,
        peer: PeerKey,
        max: usize,
        start: usize,
        usable: &impl Fn(u32) -> bool,
        most_available: u32,
        out: &mut Vec<BlockRef>,
    ) {
        while out.len() - start < max {
            let Some(piece) = self.rarest_untouched(usable, most_available) else {
                break;
            };
            let exclusive = self.failed_before.get(piece.get());
            self.start_piece(piece, peer, exclusive, max - (out.len() - start), out);
        }
    }

    /// The untouched piece with the lowest availability (at most `most_available`) that
    /// `usable` allows, ties broken by the random priority.
    fn rarest_untouched(
        &self,
        usable: &impl Fn(u32) -> bool,
        most_available: u32,
    ) -> Option<PieceIndex> {
        let mut best: Option<(u32, u32, u32)> = None;
        let n = self.lengths.num_pieces();
        let (have, verifying) = (self.have.as_bytes(), self.verifying.as_bytes());
        for (byte, (&h, &v)) in have.iter().zip(verifying).enumerate() {
            // Eight pieces at a time: late in a download most are had or being verified,
            // and this runs for nearly every request.
            let open = !(h | v);
            if open == 0 {
                continue;
            }
            for bit in 0..8u32 {
                let i = byte as u32 * 8 + bit;
                if i >= n || open & (0x80 >> bit) == 0 {
                    continue;
                }
                let key = (self.availability[i as usize], self.priority[i as usize]);
                if key.0 > most_available || best.is_some_and(|(a, p, _)| (a, p) <= key) {
                    continue;
                }
                if !usable(i) {
                    continue;
                }
                let piece = self.lengths.validate_piece(i)?;
                if self.partial.contains_key(&piece) {
                    continue;
                }
                best = Some((key.0, key.1, i));
            }
        }
        best.and_then(|(_, _, i)| self.lengths.validate_piece(i))
    }
}

#[cfg(test)]
mod tests {
    use super::super::testing::{picker, A, B};
    use shoal_core::BLOCK_SIZE;

    #[test]
    fn rarest_piece_first() {
        let mut p = picker(4, BLOCK_SIZE);
        // Piece 2 is held by one peer, the others by three.
        for i in [0, 1, 3] {
            for _ in 0..3 {
                p.peer_has(p.lengths.validate_piece(i).unwrap());
            }
        }
        p.peer_has(p.lengths.validate_piece(2).unwrap());
        let mut out = Vec::new();
        p.pick(A, 1, false, |_| true, |_| true, &mut out);
        assert_eq!(out[0].piece.get(), 2);
    }

    #[test]
    fn finishes_partial_pieces_before_starting_new_ones() {
        let mut p = picker(4, 4 * BLOCK_SIZE);
        let mut out = Vec::new();
        p.pick(A, 2, false, |_| true, |_| true, &mut out);
        let first_piece = out[0].piece;
        assert!(out.iter().all(|b| b.piece == first_piece));
        out.clear();
        p.pick(B, 2, false, |_| true, |_| true, &mut out);
        assert!(
            out.iter().all(|b| b.piece == first_piece),
            "B continues A's piece"
        );
    }

    #[test]
    fn only_picks_what_the_peer_has() {
        let mut p = picker(4, BLOCK_SIZE);
        let mut out = Vec::new();
        p.pick(A, 10, false, |i| i == 3, |_| true, &mut out);
        assert_eq!(out.len(), 1);
        assert_eq!(out[0].piece.get(), 3);
    }
}
