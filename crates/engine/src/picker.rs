//! The piece picker: which blocks to request from which peer.
//!
//! Policy, in order: finish pieces already in progress; otherwise start the rarest piece the
//! peer has (ties broken by a per-torrent random priority, so different peers spread over
//! different pieces); once every missing block is already requested (endgame), request
//! blocks a second time from another peer and cancel the loser when one arrives.
//!
//! A seed's upload is spared: the caller asks a peer that has every piece first for pieces
//! no other connected peer has (`only_unique`), then for the rest. In a young swarm the
//! seed's upload is what limits everyone, and each of its blocks spent finishing a piece
//! that another leecher could forward is a block of a never-sent piece the swarm waits for
//! (the namespace swarm measured the seed sending two copies of the content before the last
//! leecher finished; this brought it to about 1.5).

use crate::PeerKey;
use shoal_core::{Bitfield, BlockRef, Lengths, PieceIndex, Rng};
use std::collections::BTreeMap;

/// How many peers may have the same block requested in endgame mode.
const MAX_ENDGAME_REQUESTERS: usize = 3;

#[derive(Debug, Clone, PartialEq, Eq)]
enum BlockState {
    Free,
    Requested(Vec<PeerKey>),
    Received,
}

#[derive(Debug)]
struct PartialPiece {
    blocks: Vec<BlockState>,
    received: u32,
    /// Peers that delivered at least one block, for blame when the hash fails.
    contributors: Vec<PeerKey>,
    /// After a hash failure the piece is fetched from a single peer so that blame is clear.
    exclusive: bool,
    /// The peer that owns an exclusive piece.
    owner: Option<PeerKey>,
}

impl PartialPiece {
    fn is_fully_received(&self) -> bool {
        self.received as usize == self.blocks.len()
    }
}

/// What receiving a block changed.
#[derive(Debug, Default, PartialEq, Eq)]
pub struct BlockReceived {
    /// False when the block was already received (a duplicate from endgame); drop it.
    pub fresh: bool,
    /// Every block of the piece is now received: verify it.
    pub piece_complete: bool,
    /// Other peers that also had this block requested; send them a Cancel.
    pub cancel: Vec<PeerKey>,
}

pub struct Picker {
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
    pub fn new(lengths: Lengths, have: Bitfield, rng: &mut Rng) -> Picker {
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

    pub fn lengths(&self) -> &Lengths {
        &self.lengths
    }

    pub fn have(&self) -> &Bitfield {
        &self.have
    }

    pub fn is_complete(&self) -> bool {
        self.have.is_full()
    }

    /// Bytes of verified data.
    pub fn have_bytes(&self) -> u64 {
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
    pub fn wants(&self, piece: PieceIndex) -> bool {
        !self.have.get(piece.get()) && !self.verifying.get(piece.get())
    }

    pub fn peer_has(&mut self, piece: PieceIndex) {
        self.availability[piece.get() as usize] += 1;
    }

    pub fn peer_lost(&mut self, piece: PieceIndex) {
        let a = &mut self.availability[piece.get() as usize];
        *a = a.saturating_sub(1);
    }

    pub fn peer_has_bitfield(&mut self, bits: &Bitfield) {
        for i in bits.iter_ones() {
            self.availability[i as usize] += 1;
        }
    }

    pub fn peer_lost_bitfield(&mut self, bits: &Bitfield) {
        for i in bits.iter_ones() {
            let a = &mut self.availability[i as usize];
            *a = a.saturating_sub(1);
        }
    }

    /// Chooses up to `max` blocks for `peer` to request. `peer_has(i)` says whether the peer
    /// has piece `i`; `allowed(i)` restricts picking further (e.g. to allowed-fast pieces when
    /// choked); `only_unique` takes only pieces no other connected peer has (from a seed,
    /// module docs), and no endgame duplicates. Returned blocks are marked requested by
    /// `peer`.
    pub fn pick(
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

        // 1. Finish what is in progress.
        let unique = |availability: u32| !only_unique || availability <= 1;
        self.continue_partials(peer, max, start, |i, a| usable(i) && unique(a), out);

        // 2. Start new pieces, rarest first.
        let most_available = if only_unique { 1 } else { u32::MAX };
        while out.len() - start < max {
            let Some(piece) = self.rarest_untouched(&usable, most_available) else {
                break;
            };
            let exclusive = self.failed_before.get(piece.get());
            self.start_piece(piece, peer, exclusive, max - (out.len() - start), out);
        }
        if only_unique {
            return;
        }

        // 3. Endgame: nothing untouched is left for this peer, so double up on requested blocks.
        if out.len() - start < max && self.in_endgame() {
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

    /// Takes free blocks of in-progress pieces that `fits(piece, availability)` for `peer`,
    /// until `out` holds `max` blocks beyond `start`.
    fn continue_partials(
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

    /// Starts fetching `piece` from `peer`, taking up to `max` of its blocks. An `exclusive`
    /// piece (it failed its hash before) belongs to that peer alone, so blame stays clear.
    fn start_piece(
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

    /// Endgame starts when every missing piece is in progress and none has a free block.
    pub fn in_endgame(&self) -> bool {
        let missing = self.lengths.num_pieces() - self.have.count() - self.verifying.count();
        missing as usize == self.partial.len()
            && self
                .partial
                .values()
                .all(|p| p.blocks.iter().all(|b| !matches!(b, BlockState::Free)))
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

    /// Whether `peer` currently has `block` requested (so a delivery is expected).
    pub fn is_requested_by(&self, block: &BlockRef, peer: PeerKey) -> bool {
        self.partial
            .get(&block.piece)
            .and_then(|p| p.blocks.get(block.block_index() as usize))
            .is_some_and(|s| matches!(s, BlockState::Requested(peers) if peers.contains(&peer)))
    }

    /// Records a delivered block.
    pub fn block_received(&mut self, block: &BlockRef, from: PeerKey) -> BlockReceived {
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
    pub fn request_dropped(&mut self, block: &BlockRef, peer: PeerKey) {
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
    pub fn contributors(&self, piece: PieceIndex) -> Vec<PeerKey> {
        self.partial
            .get(&piece)
            .map(|p| p.contributors.clone())
            .unwrap_or_default()
    }

    /// Result of hashing a fully received piece. On failure returns the peers that sent its
    /// blocks; the piece starts over.
    pub fn piece_verified(&mut self, piece: PieceIndex, ok: bool) -> Vec<PeerKey> {
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

    /// Marks a piece as had without a download (e.g. verified from disk later).
    pub fn set_have(&mut self, piece: PieceIndex) {
        self.partial.remove(&piece);
        self.verifying.clear(piece.get());
        self.have.set(piece.get());
    }

    /// Number of pieces currently in progress (for stats and tests).
    pub fn in_progress(&self) -> usize {
        self.partial.len()
    }
}

fn take_free_blocks(
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

#[cfg(test)]
mod tests {
    use super::*;
    use shoal_core::BLOCK_SIZE;

    fn picker(pieces: u32, piece_len: u32) -> Picker {
        let lengths = Lengths::new(pieces as u64 * piece_len as u64, piece_len).unwrap();
        Picker::new(lengths, Bitfield::new(pieces), &mut Rng::new(7))
    }

    const A: PeerKey = PeerKey(1);
    const B: PeerKey = PeerKey(2);

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

    #[test]
    fn only_picks_what_the_peer_has() {
        let mut p = picker(4, BLOCK_SIZE);
        let mut out = Vec::new();
        p.pick(A, 10, false, |i| i == 3, |_| true, &mut out);
        assert_eq!(out.len(), 1);
        assert_eq!(out[0].piece.get(), 3);
    }

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

    #[test]
    fn have_bytes_accounts_for_short_last_piece() {
        let lengths = Lengths::new(40_000, BLOCK_SIZE).unwrap();
        let mut p = Picker::new(lengths, Bitfield::new(3), &mut Rng::new(1));
        p.set_have(lengths.validate_piece(2).unwrap());
        assert_eq!(p.have_bytes(), 40_000 - 2 * BLOCK_SIZE as u64);
    }
}
