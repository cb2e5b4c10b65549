//! Uploading: the choker's rounds, queued requests from peers, and reads handed to the
//! driver. Per peer at most `MAX_READS_IN_FLIGHT` blocks are being read or sent at once and
//! at most `MAX_UPLOAD_QUEUE` wait, so memory per peer stays bounded.
//!
//! Where the blocks wait matters. A leecher asks each peer for about a second of data, so a
//! piece that just arrived, which the others lack, would queue behind a second of common
//! ones at every hop before it could spread; in a swarm whose seed is the bottleneck the
//! last pieces the seed sends then reach everyone seconds late, and the seed is asked for
//! them again meanwhile (the simulator measured both). So only about a tenth of a second of
//! a peer's rate is handed to the driver (and the runtime keeps the kernel's unsent bytes
//! short too); the rest waits here, where the next block sent is of the piece fewest of our
//! peers have.

use super::initial::SUGGEST_ON_UNCHOKE;
use super::{PeerKey, Torrent};
use crate::choker::Candidate;
use crate::peer::Peer;
use crate::Action;
use shoal_core::{BlockRef, BLOCK_SIZE};
use shoal_wire::{BlockInfo, Message};
use std::time::{Duration, Instant};

/// Requests from one peer we queue; announced as `reqq`. More are rejected or dropped.
pub(crate) const MAX_UPLOAD_QUEUE: usize = 500;
/// Queued requests of one peer searched for the rarest piece when choosing the next to
/// send.
const RAREST_FIRST_WINDOW: usize = 64;
/// Blocks handed to the driver for one peer and not yet reported sent: about this much of
/// the peer's upload rate...
const HANDED_AHEAD: Duration = Duration::from_millis(100);
/// ... but at least this many, to cover the read and the hand-over...
const MIN_READS_IN_FLIGHT: u32 = 4;
/// ... and at most this many (also while the rate is unknown).
const MAX_READS_IN_FLIGHT: u32 = 32;
/// A newly unchoked peer counts as using its slot for this long before it has asked for
/// anything (its requests need a round trip).
const UNCHOKE_GRACE: Duration = Duration::from_secs(1);
/// Most peers unchoked at once, in multiples of the slots (regular plus optimistic), when
/// the unchoked ones leave the upload idle.
const MAX_UNCHOKED_SLOTS: usize = 3;

impl Torrent {
    pub(super) fn on_interested(&mut self, now: Instant, key: PeerKey, interested: bool) {
        let Some(p) = self.peers.get_mut(&key) else {
            return;
        };
        if p.peer_interested == interested {
            return;
        }
        p.peer_interested = interested;
        // Only a choked peer that wants something can take a free slot, and only an unchoked
        // one that stops wanting can free one; otherwise the slots are as they were (this
        // runs for every interest message, and a slot decision walks every peer).
        match (interested, p.am_choking) {
            (true, true) => self.fill_upload_slots(now),
            (false, false) => {
                // An unchoked peer that wants nothing holds a slot someone else could use,
                // unless nobody else wants anything either: then it stays unchoked ahead of
                // its interest (`unchoke_ahead`) rather than being choked and unchoked again.
                let others_want = self
                    .unchoked
                    .iter()
                    .any(|k| *k != key && self.peers.get(k).is_some_and(|p| p.peer_interested));
                let waiting = self
                    .peers
                    .values()
                    .any(|p| p.am_choking && p.peer_interested && !p.snubbed);
                if others_want || waiting {
                    self.set_choke(now, key, true);
                }
                self.fill_upload_slots(now);
            }
            _ => {}
        }
    }

    /// Unchokes interested peers while fewer than the regular slots plus the optimistic one
    /// are busy, best rate first. A slot is busy while its peer has requests with us or was
    /// unchoked moments ago (its requests are on the way). So a slot freed between two choke
    /// rounds (the peer finished, lost interest or left) does not sit idle until the next
    /// round, and when the peers we unchoke ask for nothing (what they want of ours they
    /// already asked of others) the upload goes to someone who does want it, up to
    /// `MAX_UNCHOKED_SLOTS` times the slots.
    pub(super) fn fill_upload_slots(&mut self, now: Instant) {
        if self.shut_down {
            return;
        }
        let slots = self.choker.slots(self.is_complete()) + 1;
        let (mut busy, mut unchoked) = (0, 0);
        for p in self.unchoked.iter().filter_map(|k| self.peers.get(k)) {
            if p.peer_interested {
                unchoked += 1;
                if p.upload_slot_busy(now, UNCHOKE_GRACE) {
                    busy += 1;
                }
            }
        }
        let free = slots
            .saturating_sub(busy)
            .min((slots * MAX_UNCHOKED_SLOTS).saturating_sub(unchoked));
        if free == 0 {
            return;
        }
        let waiting = self.choked_best_first(|p| p.peer_interested && !p.snubbed);
        let unchoking = waiting.len().min(free);
        for key in waiting.into_iter().take(free) {
            self.set_choke(now, key, false);
        }
        if unchoked + unchoking == 0 && !self.is_complete() {
            self.unchoke_ahead(now, slots);
        }
    }

    /// With nobody interested in us (a leecher that has nothing yet), unchokes up to `slots`
    /// peers ahead of their interest, best rate first (BEP 3 unchokes uninterested peers
    /// too). Our first piece then costs a peer two trips to start on (our `Have`, its
    /// `Request` sent with its `Interested`) instead of four (its `Interested` and our
    /// `Unchoke` in between), at every hop of a young swarm. Unchoking costs nothing while
    /// the peer asks nothing. (Doing the same whenever a slot was free made the middle of
    /// the simulator's swarms slower: peers that came to want something took slots ahead
    /// of the ones tit-for-tat would pick.)
    fn unchoke_ahead(&mut self, now: Instant, slots: usize) {
        let idle = self.choked_best_first(|p| !p.peer_interested && !p.pieces.is_seed());
        let free = slots.saturating_sub(self.unchoked.len());
        for key in idle.into_iter().take(free) {
            self.set_choke(now, key, false);
        }
    }

    /// The peers we choke that `eligible` allows, best rate for us first (what they gave us
    /// while we download, what we could send them while we seed); equal rates in key order,
    /// so the outcome depends only on the inputs.
    fn choked_best_first(&self, eligible: impl Fn(&Peer) -> bool) -> Vec<PeerKey> {
        let seeding = self.is_complete();
        let mut choked: Vec<(u64, PeerKey)> = self
            .peers
            .iter()
            .filter(|(_, p)| p.am_choking && eligible(p))
            .map(|(k, p)| {
                let rate = if seeding {
                    p.upload.per_second()
                } else {
                    p.download.per_second()
                };
                (rate, *k)
            })
            .collect();
        choked.sort_by_key(|&(rate, key)| (std::cmp::Reverse(rate), key));
        choked.into_iter().map(|(_, key)| key).collect()
    }

    pub(super) fn on_request(&mut self, now: Instant, key: PeerKey, b: BlockInfo) {
        let Some(meta) = &self.meta else {
            return self.reject(now, key, b);
        };
        let Some(block) = meta.info.lengths.validate_block(b.index, b.begin, b.length) else {
            return self.disconnect(
                now,
                key,
                crate::DisconnectReason::Protocol("request outside the torrent"),
            );
        };
        let have = meta.picker.have().get(b.index);
        let Some(p) = self.peers.get_mut(&key) else {
            return;
        };
        // BEP 6: allowed-fast is for starting peers; one that has pieces to trade waits.
        let starting = match &p.pieces {
            crate::peer::PeerPieces::Known(bits) => bits.count() < crate::fast::ALLOWED_FAST_COUNT,
            crate::peer::PeerPieces::Unknown { .. } => true,
        };
        let allowed_fast = (starting && p.offered_fast.contains(&b.index))
            || (p.fast && self.initial.as_ref().is_some_and(|i| i.owns(key, b.index)));
        let choked = p.am_choking && !allowed_fast;
        if choked || !have || p.upload_queue.len() >= MAX_UPLOAD_QUEUE {
            return self.reject(now, key, b);
        }
        if p.upload_queue.contains(&block) {
            return;
        }
        if let Some(initial) = &mut self.initial {
            if p.fast && !initial.claim(key, &block) {
                // Initial seeding: another peer has this piece coming whole and can pass it
                // on; steer this one to a piece nobody has yet.
                let pieces = &p.pieces;
                let other = initial.untouched_for(|i| pieces.has(i), 1).first().copied();
                self.reject(now, key, b);
                if let Some(other) = other {
                    self.send(now, key, Message::Suggest(other));
                }
                return;
            }
        }
        p.upload_queue.push_back(block);
        self.pump_uploads(key);
    }

    pub(super) fn on_cancel(&mut self, now: Instant, key: PeerKey, b: BlockInfo) {
        let Some(p) = self.peers.get_mut(&key) else {
            return;
        };
        let position = p
            .upload_queue
            .iter()
            .position(|q| q.piece.get() == b.index && q.offset == b.begin && q.len == b.length);
        let Some(cancelled) = position.and_then(|i| p.upload_queue.remove(i)) else {
            return;
        };
        if let Some(initial) = &mut self.initial {
            let still_queued = p.upload_queue.iter().any(|q| q.piece == cancelled.piece);
            initial.take_back(key, &cancelled, still_queued);
        }
        // BEP 6: every request gets exactly one answer; a cancelled one gets a reject.
        self.reject(now, key, b);
    }

    fn reject(&mut self, now: Instant, key: PeerKey, b: BlockInfo) {
        if self.peers.get(&key).is_some_and(|p| p.fast) {
            self.send(now, key, Message::Reject(b));
        }
    }

    /// Hands queued requests to the driver while the peer has read slots free.
    fn pump_uploads(&mut self, key: PeerKey) {
        let Some(p) = self.peers.get_mut(&key) else {
            return;
        };
        let Some(picker) = self.meta.as_ref().map(|m| &m.picker) else {
            return;
        };
        let ahead = match p.upload.per_second() {
            // Unknown yet (the first second): as much as we may.
            0 => MAX_READS_IN_FLIGHT,
            rate => {
                let blocks = rate as f64 * HANDED_AHEAD.as_secs_f64() / BLOCK_SIZE as f64;
                (blocks.ceil() as u32).clamp(MIN_READS_IN_FLIGHT, MAX_READS_IN_FLIGHT)
            }
        };
        while p.uploads_in_flight < ahead {
            // The rarest piece first (ties in the order asked), so that a piece only a few
            // have spreads before common ones (module docs).
            let next = p
                .upload_queue
                .iter()
                .take(RAREST_FIRST_WINDOW)
                .enumerate()
                .min_by_key(|&(i, b)| (picker.availability(b.piece), i))
                .map(|(i, _)| i);
            let Some(block) = next.and_then(|i| p.upload_queue.remove(i)) else {
                break;
            };
            p.uploads_in_flight += 1;
            if let Some(initial) = &mut self.initial {
                initial.sending(key, &block);
            }
            self.actions
                .push_back(Action::ReadBlock { peer: key, block });
        }
    }

    /// The driver wrote a block read for [`Action::ReadBlock`] to the peer: `bytes` is its
    /// length, for upload accounting. Frees a read slot, so more `ReadBlock`s may follow.
    pub fn handle_block_sent(&mut self, now: Instant, key: PeerKey, bytes: u32) {
        self.uploaded += bytes as u64;
        if let Some(initial) = &mut self.initial {
            initial.sent(key);
            if initial.done() {
                tracing::debug!("initial seeding done: every block went out once");
                self.initial = None;
            }
        }
        let Some(p) = self.peers.get_mut(&key) else {
            return;
        };
        p.uploads_in_flight = p.uploads_in_flight.saturating_sub(1);
        p.upload.add(bytes as u64);
        p.last_sent = now;
        let drained = p.upload_queue.is_empty() && p.uploads_in_flight == 0;
        self.pump_uploads(key);
        // The last block we had for this peer is leaving: if nobody else asked for anything
        // our upload is about to go idle.
        if drained
            && self
                .peers
                .values()
                .all(|p| p.upload_queue.is_empty() && p.uploads_in_flight == 0)
        {
            self.fill_upload_slots(now);
        }
    }

    fn set_choke(&mut self, now: Instant, key: PeerKey, choke: bool) {
        let Some(p) = self.peers.get_mut(&key) else {
            return;
        };
        if p.am_choking == choke {
            return;
        }
        p.am_choking = choke;
        if choke {
            self.unchoked.retain(|k| *k != key);
        } else {
            p.unchoked_at = now;
            self.unchoked.push(key);
        }
        // Initial seeding: a BEP 6 peer keeps the pieces it started and may finish them
        // while choked (`InitialSeeding::give_up`).
        let mut finish = Vec::new();
        let mut suggest = Vec::new();
        if let Some(initial) = &mut self.initial {
            if choke {
                finish = initial.give_up(key);
                if !p.fast {
                    finish.clear();
                }
            } else if p.fast {
                let pieces = &p.pieces;
                suggest = initial.untouched_for(|i| pieces.has(i), SUGGEST_ON_UNCHOKE);
            }
        }
        let dropped: Vec<_> = if choke {
            let (kept, dropped): (Vec<BlockRef>, Vec<BlockRef>) = p
                .upload_queue
                .drain(..)
                .partition(|b| finish.contains(&b.piece.get()));
            p.upload_queue = kept.into();
            dropped
        } else {
            Vec::new()
        };
        for piece in finish {
            self.send(now, key, Message::AllowedFast(piece));
        }
        // Suggestions first, so that the requests the unchoke triggers already follow them.
        for piece in suggest {
            self.send(now, key, Message::Suggest(piece));
        }
        self.send(
            now,
            key,
            if choke {
                Message::Choke
            } else {
                Message::Unchoke
            },
        );
        for block in dropped {
            let b = BlockInfo {
                index: block.piece.get(),
                begin: block.offset,
                length: block.len,
            };
            self.reject(now, key, b);
        }
    }

    /// One round of the choker.
    pub(super) fn choke_round(&mut self, now: Instant) {
        let candidates: Vec<Candidate> = self
            .peers
            .iter()
            .map(|(key, p)| Candidate {
                key: *key,
                interested: p.peer_interested,
                download_rate: p.download.per_second(),
                upload_rate: p.upload.per_second(),
                snubbed: p.snubbed,
            })
            .collect();
        let seeding = self.is_complete();
        let unchoke = self.choker.round(&candidates, seeding, &mut self.rng);
        let was_choked: Vec<PeerKey> = self
            .peers
            .iter()
            .filter(|(_, p)| p.am_choking)
            .map(|(k, _)| *k)
            .collect();
        for c in candidates {
            // With nobody interested, those unchoked ahead stay so (`unchoke_ahead`).
            let ahead = self.peers.get(&c.key).is_some_and(|p| !p.pieces.is_seed());
            if unchoke.is_empty() && !c.interested && ahead && !seeding {
                continue;
            }
            self.set_choke(now, c.key, !unchoke.contains(&c.key));
        }
        // Initial seeding: what a peer choked for a whole round kept but does not fetch goes
        // to others, and so does any piece of which nothing left us for a whole round, also
        // a piece of a peer we unchoke whose link has stalled (`initial.rs` module docs).
        if let Some(initial) = &mut self.initial {
            for key in was_choked {
                if let Some(p) = self.peers.get(&key).filter(|p| p.am_choking) {
                    let queue = &p.upload_queue;
                    initial.give_up_idle(key, |i| queue.iter().any(|b| b.piece.get() == i));
                }
            }
            // The old holder's requests for a freed piece still waiting here are refused:
            // served later, they would send the piece twice, to it and to the next owner.
            for (key, piece) in initial.give_up_quiet() {
                let Some(p) = self.peers.get_mut(&key) else {
                    continue;
                };
                let (dropped, kept): (Vec<BlockRef>, Vec<BlockRef>) = p
                    .upload_queue
                    .drain(..)
                    .partition(|b| b.piece.get() == piece);
                p.upload_queue = kept.into();
                for block in dropped {
                    let b = BlockInfo {
                        index: block.piece.get(),
                        begin: block.offset,
                        length: block.len,
                    };
                    self.reject(now, key, b);
                }
            }
        }
        self.fill_upload_slots(now);
    }
}
