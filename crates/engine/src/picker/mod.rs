//! The piece picker: which blocks to request from which peer.
//!
//! Policy, in order: finish pieces already in progress; otherwise start the rarest piece the
//! peer has (ties broken by a per-torrent random priority, so different peers spread over
//! different pieces); once every missing block is already requested (endgame), request
//! blocks a second time from another peer and cancel the loser when one arrives.
//!
//! This file holds the picker's state and what peers have (availability); the rest is split
//! by purpose: `pick.rs` (the ordinary pick and rarest-first), `unique.rs` (the pass that
//! spares a seed's upload), `suggested.rs` (BEP 6 suggestions), `endgame.rs`, `partial.rs`
//! (pieces in progress, block by block) and `delivery.rs` (blocks delivered or dropped,
//! pieces verified).

mod delivery;
mod endgame;
mod partial;
mod pick;
mod suggested;
mod unique;

use crate::PeerKey;
use partial::PartialPiece;
use shoal_core::{Bitfield, Lengths, PieceIndex, Rng};
use std::collections::BTreeMap;

pub(crate) struct Picker {
    lengths: Lengths,
    have: Bitfield,
    availability: Vec<u32>,
    /// Random tie-break priority of each piece, fixed at start.
    priority: Vec<u32>,
    partial: BTreeMap<PieceIndex, PartialPiece>,
    /// Pieces whose blocks are all received and await verification.
    verifying: Bitfield,
    /// Pieces that failed their hash check, to be fetched from one peer next time.
    failed_before: Bitfield,
}

impl Picker {
    pub(crate) fn new(lengths: Lengths, have: Bitfield, rng: &mut Rng) -> Picker {
        let n = lengths.num_pieces();
        let mut priority: Vec<u32> = (0..n).collect();
        rng.shuffle(&mut priority);
        Picker {
            lengths,
            have,
            availability: vec![0; n as usize],
            priority,
            partial: BTreeMap::new(),
            verifying: Bitfield::new(n),
            failed_before: Bitfield::new(n),
        }
    }

    #[cfg(test)]
    pub(crate) fn lengths(&self) -> &Lengths {
        &self.lengths
    }

    pub(crate) fn have(&self) -> &Bitfield {
        &self.have
    }

    pub(crate) fn is_complete(&self) -> bool {
        self.have.is_full()
    }

    /// Bytes of verified data.
    pub(crate) fn have_bytes(&self) -> u64 {
        let mut bytes = self.have.count() as u64 * self.lengths.piece_length() as u64;
        if let Some(last) = self.lengths.num_pieces().checked_sub(1) {
            if self.have.get(last) {
                let last = self
                    .lengths
                    .validate_piece(last)
                    .expect("last piece exists");
                bytes -= (self.lengths.piece_length() - self.lengths.piece_len(last)) as u64;
            }
        }
        bytes
    }

    /// Whether we lack `piece` (and it is not already fully received).
    pub(crate) fn wants(&self, piece: PieceIndex) -> bool {
        !self.have.get(piece.get()) && !self.verifying.get(piece.get())
    }

    /// Whether `piece` is being fetched from one other peer only (after it failed its hash),
    /// so that `peer` may not be asked for it.
    pub(crate) fn reserved_for_other(&self, piece: PieceIndex, peer: PeerKey) -> bool {
        self.partial
            .get(&piece)
            .is_some_and(|p| p.owner.is_some_and(|o| o != peer))
    }

    /// How many connected peers have `piece`.
    pub(crate) fn availability(&self, piece: PieceIndex) -> u32 {
        self.availability[piece.get() as usize]
    }

    pub(crate) fn peer_has(&mut self, piece: PieceIndex) {
        self.availability[piece.get() as usize] += 1;
    }

    pub(crate) fn peer_has_bitfield(&mut self, bits: &Bitfield) {
        for i in bits.iter_ones() {
            self.availability[i as usize] += 1;
        }
    }

    pub(crate) fn peer_lost_bitfield(&mut self, bits: &Bitfield) {
        for i in bits.iter_ones() {
            let a = &mut self.availability[i as usize];
            *a = a.saturating_sub(1);
        }
    }
}

/// What the tests of every part of the picker share.
#[cfg(test)]
mod testing {
    use super::Picker;
    use crate::PeerKey;
    use shoal_core::{Bitfield, Lengths, Rng};

    pub(super) fn picker(pieces: u32, piece_len: u32) -> Picker {
        let lengths = Lengths::new(pieces as u64 * piece_len as u64, piece_len).unwrap();
        Picker::new(lengths, Bitfield::new(pieces), &mut Rng::new(7))
    }

    pub(super) const A: PeerKey = PeerKey(1);
    pub(super) const B: PeerKey = PeerKey(2);
}

#[cfg(test)]
mod tests {
    use super::*;
    use shoal_core::BLOCK_SIZE;

    #[test]
    fn have_bytes_accounts_for_short_last_piece() {
        let lengths = Lengths::new(40_000, BLOCK_SIZE).unwrap();
        let mut p = Picker::new(lengths, Bitfield::new(3), &mut Rng::new(1));
        p.set_have(lengths.validate_piece(2).unwrap());
        assert_eq!(p.have_bytes(), 40_000 - 2 * BLOCK_SIZE as u64);
    }
}
