//! Uploading: the choker's rounds, queued requests from peers, and reads handed to the
//! driver. Per peer at most `MAX_READS_IN_FLIGHT` blocks are being read or sent at once and
//! at most `MAX_UPLOAD_QUEUE` wait, so memory per peer stays bounded.

use super::{PeerKey, Torrent};
use crate::choker::Candidate;
use crate::Action;
use shoal_wire::{BlockInfo, Message};
use std::time::Instant;

/// Requests from one peer we queue; announced as `reqq`. More are rejected or dropped.
pub(crate) const MAX_UPLOAD_QUEUE: usize = 500;
/// Blocks handed to the driver for one peer and not yet reported sent.
const MAX_READS_IN_FLIGHT: u32 = 32;

impl Torrent {
    pub(super) fn on_interested(&mut self, now: Instant, key: PeerKey, interested: bool) {
        let Some(p) = self.peers.get_mut(&key) else {
            return;
        };
        p.peer_interested = interested;
        if !interested {
            return;
        }
        // Don't make a newcomer wait for the next round while a slot is free.
        let unchoked = self.peers.values().filter(|p| !p.am_choking).count();
        if unchoked < self.choker.slots() + 1 {
            self.set_choke(now, key, false);
        }
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
        let choked = p.am_choking && !(starting && p.offered_fast.contains(&b.index));
        if choked || !have || p.upload_queue.len() >= MAX_UPLOAD_QUEUE {
            return self.reject(now, key, b);
        }
        if !p.upload_queue.contains(&block) {
            p.upload_queue.push_back(block);
        }
        self.pump_uploads(key);
    }

    pub(super) fn on_cancel(&mut self, now: Instant, key: PeerKey, b: BlockInfo) {
        let Some(p) = self.peers.get_mut(&key) else {
            return;
        };
        let before = p.upload_queue.len();
        p.upload_queue
            .retain(|q| !(q.piece.get() == b.index && q.offset == b.begin && q.len == b.length));
        // BEP 6: every request gets exactly one answer; a cancelled one gets a reject.
        if p.upload_queue.len() != before {
            self.reject(now, key, b);
        }
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
        while p.uploads_in_flight < MAX_READS_IN_FLIGHT {
            let Some(block) = p.upload_queue.pop_front() else {
                break;
            };
            p.uploads_in_flight += 1;
            self.actions
                .push_back(Action::ReadBlock { peer: key, block });
        }
    }

    pub(super) fn on_block_sent(&mut self, now: Instant, key: PeerKey, bytes: u32) {
        self.uploaded += bytes as u64;
        let Some(p) = self.peers.get_mut(&key) else {
            return;
        };
        p.uploads_in_flight = p.uploads_in_flight.saturating_sub(1);
        p.upload.add(bytes as u64);
        p.last_sent = now;
        self.pump_uploads(key);
    }

    fn set_choke(&mut self, now: Instant, key: PeerKey, choke: bool) {
        let Some(p) = self.peers.get_mut(&key) else {
            return;
        };
        if p.am_choking == choke {
            return;
        }
        p.am_choking = choke;
        let dropped: Vec<_> = if choke {
            p.upload_queue.drain(..).collect()
        } else {
            Vec::new()
        };
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
        for c in candidates {
            self.set_choke(now, c.key, !unchoke.contains(&c.key));
        }
    }
}
