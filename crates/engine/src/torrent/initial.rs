//! Initial seeding: while some block of the torrent has never left a seed that started
//! complete, the seed spends its upload on those blocks first, a whole piece per peer.
//!
//! A new torrent's only copy is its seed, and nothing in the swarm can finish before every
//! piece has left the seed once. Leechers pick rarest-first, but those that cannot see each
//! other (or ask at the same moment) pick the same pieces, and every block the seed sends
//! twice in that phase delays the whole swarm by a block time. So, with BEP 6 peers only:
//!
//! - the first peer that asks for a block of a piece owns the piece: it is served all of
//!   the piece's blocks, and anyone else who asks for one is refused (`Reject`) and
//!   suggested a piece nobody owns yet (`Suggest`); our own picker honours both (see
//!   `download.rs`). Pieces go to one peer whole because only a whole, verified piece can
//!   be passed on: a piece whose blocks went half to one leecher and half to another is
//!   held by nobody, both wait for the seed to send it again after the phase (the
//!   simulator measured the last leechers waiting on exactly such pieces);
//! - a peer we unchoke is suggested unowned pieces straight away, each peer different ones
//!   (a cursor walks the pieces), so first requests already spread.
//!
//! The phase ends for good once the driver reported every block sent once. A peer that
//! leaves gives up the pieces it owns, so that another can fetch them; one that is choked
//! gives up those it was handed no block of yet and may finish the others while choked
//! (they are offered to it as BEP 6 allowed-fast pieces), until a choke round finds it
//! still choked with nothing of them queued or on its way. Peers without BEP 6 are served
//! as usual, since they cannot be told no without a choke.
//!
//! A piece is held for a peer only while it is coming: one that no block of left us for a
//! whole choke round is free again (`give_up_quiet`), also for a peer we unchoke. A peer
//! whose link barely moves (a throttled relay in the NAT lab: one block every few seconds)
//! otherwise held every piece it had asked for until its trickle had carried them all, and
//! the phase could not end before; a newcomer with nothing else to fetch was refused them
//! for that long (29 s in `tests/protocol/stall.rs`, about 24 s in the lab) while our
//! upload to it sat idle. A round (10 s) is the clock choked owners are already judged by:
//! a peer we serve at any useful rate gets a block of each piece it holds out far sooner
//! (its requests ask for about a second of its rate), so only stalled pieces are freed.

use crate::PeerKey;
use shoal_core::{Bitfield, BlockRef, Lengths};
use std::collections::{BTreeMap, VecDeque};

/// Unowned pieces suggested to a peer when we unchoke it.
pub(super) const SUGGEST_ON_UNCHOKE: usize = 2;

#[derive(Debug)]
pub(super) struct InitialSeeding {
    blocks_per_piece: u32,
    /// The peer each piece was handed to, while it has it.
    owner: Vec<Option<PeerKey>>,
    /// Blocks the driver reported sent, at `piece * blocks_per_piece + i`.
    sent: Bitfield,
    /// Blocks sent per piece.
    sent_in_piece: Vec<u32>,
    /// Per piece, blocks handed to the driver for its current owner (a block handed twice
    /// counts twice; at most `blocks_per_piece`).
    handed_to_owner: Vec<u32>,
    /// Per peer, the blocks handed to the driver and not yet reported sent, in the order the
    /// driver sends them.
    on_its_way: BTreeMap<PeerKey, VecDeque<BlockRef>>,
    /// Blocks in the torrent not reported sent yet.
    remaining: u32,
    /// Blocks in the last piece (it may be short).
    blocks_in_last: u32,
    /// Where the next search for an unowned piece starts.
    cursor: u32,
    /// Owned pieces no block of left us since the last choke round (`give_up_quiet`).
    quiet: Bitfield,
}

impl InitialSeeding {
    pub(super) fn new(lengths: &Lengths) -> InitialSeeding {
        let blocks_per_piece = lengths.piece_length().div_ceil(shoal_core::BLOCK_SIZE);
        let n = lengths.num_pieces();
        InitialSeeding {
            blocks_per_piece,
            owner: vec![None; n as usize],
            sent: Bitfield::new(n * blocks_per_piece),
            sent_in_piece: vec![0; n as usize],
            handed_to_owner: vec![0; n as usize],
            on_its_way: BTreeMap::new(),
            remaining: lengths.pieces().map(|p| lengths.blocks_in_piece(p)).sum(),
            blocks_in_last: lengths
                .pieces()
                .last()
                .map_or(0, |p| lengths.blocks_in_piece(p)),
            cursor: 0,
            quiet: Bitfield::new(n),
        }
    }

    /// Whether every block was reported sent once (the phase is over).
    pub(super) fn done(&self) -> bool {
        self.remaining == 0
    }

    /// Blocks in piece `i`.
    fn blocks_in(&self, i: usize) -> u32 {
        if i + 1 == self.owner.len() {
            self.blocks_in_last
        } else {
            self.blocks_per_piece
        }
    }

    fn index(&self, block: &BlockRef) -> u32 {
        block.piece.get() * self.blocks_per_piece + block.block_index()
    }

    /// Whether `peer` may have `block`: it owns the block's piece, or nobody did and now it
    /// does.
    pub(super) fn claim(&mut self, peer: PeerKey, block: &BlockRef) -> bool {
        let i = block.piece.get() as usize;
        match self.owner[i] {
            Some(o) => o == peer,
            None => {
                self.owner[i] = Some(peer);
                self.handed_to_owner[i] = 0;
                // A new owner gets a whole round before it must have had a block of it.
                self.quiet.clear(i as u32);
                true
            }
        }
    }

    /// Notes that `block` left our queues for the driver, to be sent to `peer`.
    pub(super) fn sending(&mut self, peer: PeerKey, block: &BlockRef) {
        self.on_its_way.entry(peer).or_default().push_back(*block);
        let i = block.piece.get() as usize;
        if self.owner[i] == Some(peer) {
            self.handed_to_owner[i] = (self.handed_to_owner[i] + 1).min(self.blocks_per_piece);
        }
    }

    /// The driver reported the oldest block handed to it for `peer` sent.
    pub(super) fn sent(&mut self, peer: PeerKey) {
        let Some(queue) = self.on_its_way.get_mut(&peer) else {
            return;
        };
        let Some(block) = queue.pop_front() else {
            return;
        };
        if queue.is_empty() {
            self.on_its_way.remove(&peer);
        }
        if self.sent.set(self.index(&block)) {
            self.remaining -= 1;
            self.sent_in_piece[block.piece.get() as usize] += 1;
        }
        self.quiet.clear(block.piece.get());
    }

    /// A block queued for `peer` was cancelled before it was sent. If the peer was handed
    /// nothing of the piece and has no other block of it queued (`still_queued`), it gives
    /// the piece up, so that another can fetch it; otherwise it keeps it (it may yet take
    /// the rest, and a second owner would be sent what the first is being sent).
    pub(super) fn take_back(&mut self, peer: PeerKey, block: &BlockRef, still_queued: bool) {
        let i = block.piece.get() as usize;
        if self.owner[i] == Some(peer) && self.handed_to_owner[i] == 0 && !still_queued {
            self.owner[i] = None;
        }
    }

    /// `peer` left: the pieces it owned are free again.
    pub(super) fn peer_gone(&mut self, peer: PeerKey) {
        self.on_its_way.remove(&peer);
        for owner in &mut self.owner {
            if *owner == Some(peer) {
                *owner = None;
            }
        }
    }

    /// `peer` was choked: the pieces it owns that it was handed no block of yet are free
    /// again. It keeps those it has started, to finish while choked (the caller allows it that,
    /// BEP 6 allowed-fast): its requests for the rest may be on the wire already, and a
    /// piece it holds a part of is of use to nobody until someone has it whole. Returns
    /// the pieces it keeps and still lacks blocks of. (Taking its started pieces away too
    /// left them part-held by a peer that could neither finish nor pass them on, while
    /// others were refused them and the seed's upload idled; see docs/performance.md.)
    pub(super) fn give_up(&mut self, peer: PeerKey) -> Vec<u32> {
        let mut kept = Vec::new();
        for (i, owner) in self.owner.iter_mut().enumerate() {
            if *owner != Some(peer) {
                continue;
            }
            let handed = self.handed_to_owner[i];
            if handed == 0 {
                *owner = None;
            } else if handed < self.blocks_per_piece {
                kept.push(i as u32);
            }
        }
        kept
    }

    /// `peer` has stayed choked for a round: it gives up every piece it owns of which it
    /// has no block `queued(piece)` with us or on its way to it. A peer that does not take
    /// the rest of a piece it kept (`give_up`) holds it from others one round at most.
    pub(super) fn give_up_idle(&mut self, peer: PeerKey, queued: impl Fn(u32) -> bool) {
        let on_its_way = self.on_its_way.get(&peer);
        for (i, owner) in self.owner.iter_mut().enumerate() {
            let busy = || {
                queued(i as u32)
                    || on_its_way.is_some_and(|q| q.iter().any(|b| b.piece.get() as usize == i))
            };
            if *owner == Some(peer) && !busy() {
                *owner = None;
            }
        }
    }

    /// A choke round: every piece still owned, not yet sent whole, and quiet since the
    /// last round (no block of it reported sent, whoever it went to) is free again, so
    /// that a peer asking for it is served rather than refused (module docs). The pieces
    /// owned now are quiet until a block of them leaves. Returns the pieces freed, with
    /// the peer that held each.
    pub(super) fn give_up_quiet(&mut self) -> Vec<(PeerKey, u32)> {
        let mut freed = Vec::new();
        for i in 0..self.owner.len() {
            let piece = i as u32;
            let Some(owner) = self.owner[i] else {
                self.quiet.clear(piece);
                continue;
            };
            if self.sent_in_piece[i] >= self.blocks_in(i) {
                // Left whole once: the owner's to pass on, not ours to send again.
                self.quiet.clear(piece);
            } else if self.quiet.clear(piece) {
                tracing::debug!(
                    peer = owner.0,
                    piece,
                    "initial seeding: no block of the piece left for a round, freed"
                );
                self.owner[i] = None;
                freed.push((owner, piece));
            } else {
                self.quiet.set(piece);
            }
        }
        freed
    }

    /// Whether `peer` owns `piece` (it may fetch it while choked).
    pub(super) fn owns(&self, peer: PeerKey, piece: u32) -> bool {
        self.owner.get(piece as usize) == Some(&Some(peer))
    }

    /// Up to `max` unowned pieces with blocks never sent that `peer_has` says the peer
    /// lacks: pieces partly sent (to a peer that gave them up) first, then pieces with no
    /// block sent. The search starts after the last piece suggested, so that peers get
    /// different ones.
    ///
    /// A piece given up halfway is nobody's: no leecher can pass it on until one has it
    /// whole. Offered after the untouched ones it would be the phase's last piece, so it is
    /// offered first, and the new owner is sent the few blocks the old one got once more.
    pub(super) fn untouched_for(&mut self, peer_has: impl Fn(u32) -> bool, max: usize) -> Vec<u32> {
        let n = self.owner.len() as u32;
        let mut out = Vec::new();
        for untouched in [false, true] {
            for step in 0..n {
                if out.len() >= max {
                    break;
                }
                let i = (self.cursor + step) % n;
                if self.owner[i as usize].is_some() || out.contains(&i) {
                    continue;
                }
                let sent = self.sent_in_piece[i as usize];
                let fits = if untouched {
                    sent == 0
                } else {
                    sent > 0 && sent < self.blocks_per_piece
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
}

#[cfg(test)]
mod tests {
    use super::*;
    use shoal_core::BLOCK_SIZE;

    #[test]
    fn a_piece_goes_whole_to_its_first_asker_until_it_gives_it_up() {
        let lengths = Lengths::new(4 * BLOCK_SIZE as u64, 2 * BLOCK_SIZE).unwrap();
        let mut s = InitialSeeding::new(&lengths);
        let blocks: Vec<BlockRef> = lengths.pieces().flat_map(|p| lengths.blocks(p)).collect();
        let (a, b) = (PeerKey(1), PeerKey(2));
        assert!(s.claim(a, &blocks[1]));
        assert!(
            s.claim(a, &blocks[0]),
            "the owner gets every block of its piece"
        );
        assert!(!s.claim(b, &blocks[0]), "nobody else does");
        assert_eq!(s.untouched_for(|_| false, 5), vec![1]);
        s.take_back(b, &blocks[0], false);
        assert!(
            !s.claim(b, &blocks[0]),
            "only the owner can give a piece up"
        );
        s.take_back(a, &blocks[0], true);
        assert!(
            !s.claim(b, &blocks[0]),
            "not while it has another block queued"
        );
        s.take_back(a, &blocks[0], false);
        assert!(s.claim(b, &blocks[0]));
        assert!(s.claim(a, &blocks[2]));
        s.peer_gone(a);
        assert!(s.claim(b, &blocks[3]), "a peer that left owns nothing");
    }

    #[test]
    fn the_phase_ends_once_the_driver_sent_every_block() {
        let lengths = Lengths::new(3 * BLOCK_SIZE as u64 + 100, 2 * BLOCK_SIZE).unwrap();
        let mut s = InitialSeeding::new(&lengths);
        let blocks: Vec<BlockRef> = lengths.pieces().flat_map(|p| lengths.blocks(p)).collect();
        assert_eq!(blocks.len(), 4);
        let (a, b) = (PeerKey(1), PeerKey(2));
        for (i, block) in blocks.iter().enumerate() {
            s.sending(if i < 2 { a } else { b }, block);
        }
        s.sent(a);
        s.sent(a);
        s.sent(a);
        assert!(!s.done(), "b's blocks are on their way");
        s.peer_gone(b);
        s.sent(b);
        assert!(!s.done(), "what b never got is not sent");
        s.sending(a, &blocks[2]);
        s.sending(a, &blocks[3]);
        s.sent(a);
        assert!(!s.done());
        s.sent(a);
        assert!(s.done());
    }

    #[test]
    fn suggestions_skip_owned_pieces_and_rotate() {
        let lengths = Lengths::new(4 * BLOCK_SIZE as u64, BLOCK_SIZE).unwrap();
        let mut s = InitialSeeding::new(&lengths);
        let block = |i| {
            lengths
                .block(lengths.validate_piece(i).unwrap(), 0)
                .unwrap()
        };
        assert!(s.claim(PeerKey(1), &block(1)));
        assert_eq!(s.untouched_for(|_| false, 2), vec![0, 2]);
        assert_eq!(s.untouched_for(|_| false, 2), vec![3, 0]);
        assert_eq!(s.untouched_for(|i| i != 2, 5), vec![2]);
    }

    #[test]
    fn a_piece_left_halfway_is_suggested_before_untouched_ones() {
        let lengths = Lengths::new(8 * BLOCK_SIZE as u64, 2 * BLOCK_SIZE).unwrap();
        let mut s = InitialSeeding::new(&lengths);
        let piece = |i| lengths.validate_piece(i).unwrap();
        let first = lengths.block(piece(2), 0).unwrap();
        let (a, b) = (PeerKey(1), PeerKey(2));
        assert!(s.claim(a, &first));
        s.sending(a, &first);
        s.sent(a);
        s.peer_gone(a);
        assert_eq!(s.untouched_for(|_| false, 2), vec![2, 0]);
        assert!(s.claim(b, &lengths.block(piece(2), 1).unwrap()));
    }

    #[test]
    fn a_choked_peer_keeps_the_pieces_it_started_and_frees_the_rest() {
        let lengths = Lengths::new(6 * BLOCK_SIZE as u64, 2 * BLOCK_SIZE).unwrap();
        let mut s = InitialSeeding::new(&lengths);
        let blocks: Vec<BlockRef> = lengths.pieces().flat_map(|p| lengths.blocks(p)).collect();
        let (a, b) = (PeerKey(1), PeerKey(2));
        // A owns piece 0 (both blocks handed over, one sent), piece 1 (one block sent) and
        // piece 2 (asked for, nothing sent).
        for i in [0, 1, 2, 4] {
            assert!(s.claim(a, &blocks[i]));
        }
        for i in [0, 1, 2] {
            s.sending(a, &blocks[i]);
        }
        s.sent(a);
        s.sent(a);
        s.sent(a);
        assert_eq!(s.give_up(a), vec![1], "it may finish piece 1 while choked");
        assert!(s.owns(a, 0) && s.owns(a, 1));
        assert!(!s.claim(b, &blocks[3]), "piece 1 stays A's");
        assert!(s.claim(b, &blocks[4]), "piece 2 is free");
        // A round later, with nothing of piece 1 queued or on its way, A lets it go.
        s.give_up_idle(a, |_| false);
        assert!(s.claim(b, &blocks[3]));
    }

    #[test]
    fn a_second_owner_is_judged_by_what_it_was_handed() {
        let lengths = Lengths::new(4 * BLOCK_SIZE as u64, 2 * BLOCK_SIZE).unwrap();
        let mut s = InitialSeeding::new(&lengths);
        let blocks: Vec<BlockRef> = lengths.pieces().flat_map(|p| lengths.blocks(p)).collect();
        let (a, b, c) = (PeerKey(1), PeerKey(2), PeerKey(3));
        // A gets block 0 of piece 0 and leaves; B takes the piece over and gets block 1.
        assert!(s.claim(a, &blocks[0]));
        s.sending(a, &blocks[0]);
        s.sent(a);
        s.peer_gone(a);
        assert!(s.claim(b, &blocks[1]));
        s.sending(b, &blocks[1]);
        s.sent(b);
        // Every block left once, but B lacks block 0: choked, it keeps the piece to finish.
        assert_eq!(s.give_up(b), vec![0]);
        assert!(!s.claim(c, &blocks[0]));
        // A new owner handed nothing yet gives the piece up, whatever the first one got.
        s.peer_gone(b);
        assert!(s.claim(c, &blocks[0]));
        assert_eq!(s.give_up(c), Vec::<u32>::new());
        assert!(s.claim(a, &blocks[0]));
    }

    #[test]
    fn a_piece_nothing_left_of_for_a_whole_round_is_freed() {
        // Three pieces of two blocks and a short last one of one block.
        let lengths = Lengths::new(7 * BLOCK_SIZE as u64, 2 * BLOCK_SIZE).unwrap();
        let mut s = InitialSeeding::new(&lengths);
        let blocks: Vec<BlockRef> = lengths.pieces().flat_map(|p| lengths.blocks(p)).collect();
        assert_eq!(blocks.len(), 7);
        let (a, b) = (PeerKey(1), PeerKey(2));
        // A asks for everything; all of it is handed over for A's slow link.
        for block in &blocks {
            assert!(s.claim(a, block));
            s.sending(a, block);
        }
        assert!(s.give_up_quiet().is_empty());
        assert!(!s.claim(b, &blocks[2]), "one round gone: piece 1 still A's");
        // During the next round piece 0 leaves whole, piece 1 half, nothing of the others.
        for _ in 0..3 {
            s.sent(a);
        }
        assert_eq!(s.give_up_quiet(), vec![(a, 2), (a, 3)]);
        assert!(
            !s.claim(b, &blocks[0]),
            "piece 0 left whole: A passes it on"
        );
        assert!(
            !s.claim(b, &blocks[3]),
            "a block of piece 1 left this round"
        );
        assert!(
            s.claim(b, &blocks[4]),
            "nothing of piece 2 left for a round"
        );
        assert!(s.claim(b, &blocks[6]), "nor of the short last piece");
        // A new owner gets a whole round of its own.
        s.give_up_quiet();
        assert!(
            !s.claim(a, &blocks[4]),
            "B claimed piece 2 since the last round"
        );
        // The short last piece leaves whole: never freed again.
        s.sending(b, &blocks[6]);
        s.sent(b);
        s.give_up_quiet();
        assert!(
            s.claim(a, &blocks[4]),
            "nothing of piece 2 left B for a round"
        );
        assert!(!s.claim(a, &blocks[6]), "the last piece left whole");
    }
}
