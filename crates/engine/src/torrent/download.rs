//! Downloading: interest, request pipelining, receiving blocks, verifying pieces, and
//! fetching the metadata of a magnet link.

use super::{Meta, PeerKey, Torrent};
use crate::peer::PeerPieces;
use crate::picker::Picker;
use crate::{Action, DisconnectReason};
use bytes::Bytes;
use shoal_core::{Bitfield, BlockRef, Info, InfoHash, PieceIndex, BLOCK_SIZE};
use shoal_wire::ext::MetadataMsg;
use shoal_wire::{BlockInfo, Message};
use std::sync::Arc;
use std::time::{Duration, Instant};

/// Requests in flight to a peer at least, also before we know its rate.
const MIN_DEPTH: usize = 4;
/// Keep this much of a peer's rate in flight: the bandwidth-delay product of any path with
/// a round trip below it, with margin. Deeper queues only park blocks behind a slow peer
/// that a faster one could have sent, and (early in a swarm) ask a seed for pieces that
/// other peers will have moments later. Since the estimate grows with what arrives, the
/// depth grows by about `DEPTH_SECONDS / RTT` per round trip from `MIN_DEPTH`, like TCP's
/// slow start.
const DEPTH_SECONDS: f64 = 1.0;
/// Metadata pieces asked of one peer at once.
const METADATA_PIPELINE: usize = 4;
const METADATA_TIMEOUT: Duration = Duration::from_secs(10);
/// A peer with requests outstanding that delivers nothing for this long is snubbed.
const SNUB_AFTER: Duration = Duration::from_secs(60);
/// In endgame a few blocks decide the finish time: give up on a silent peer sooner.
const ENDGAME_REQUEST_TIMEOUT: Duration = Duration::from_secs(5);
/// Strikes for a piece that failed its hash with one peer as the only source.
const SOLE_FAILURE_STRIKES: u32 = 2;
/// When all a peer that unchokes us has left for us is what it refused, it is asked again
/// no sooner than this after its last refusal. Asking at once made a request and a reject
/// cross every round trip for as long as a seed in initial seeding held those pieces back
/// (`tests/trio.rs`: 1,827 rejects in 15 s at a 20 ms round trip; a LAN's would be
/// thousands a second). A second, the engine's tick (when every pipeline is topped up
/// anyway), is soon enough to notice a seed that serves them now.
const RETRY_REFUSED_AFTER: Duration = Duration::from_secs(1);

/// How topping up a pipeline went.
#[derive(PartialEq, Eq)]
enum Filled {
    /// The peer unchokes us, nothing is asked of it, and nothing it has could be asked.
    Starved,
    Other,
}

impl Torrent {
    /// Sends Interested / NotInterested when the peer's usefulness changed.
    pub(super) fn update_interest(&mut self, now: Instant, key: PeerKey) {
        let Some(p) = self.peers.get_mut(&key) else {
            return;
        };
        let want = p.interesting > 0 && !self.meta.as_ref().is_some_and(|m| m.picker.is_complete());
        if want != p.am_interested {
            p.am_interested = want;
            self.send(
                now,
                key,
                if want {
                    Message::Interested
                } else {
                    Message::NotInterested
                },
            );
        }
    }

    /// Tops up the peer's request pipeline.
    pub(super) fn request_more(&mut self, now: Instant, key: PeerKey) {
        if self.fill_pipeline(now, key) == Filled::Starved && self.move_requests_to(key) {
            self.fill_pipeline(now, key);
        }
    }

    /// `key` unchokes us and has pieces we lack, but every one of them is already asked of
    /// someone else, so its upload to us would sit idle while those blocks wait behind a
    /// second of others in another peer's queue. Cancels the requests furthest back in the
    /// deepest queues, for pieces `key` has, so that it can be asked instead. Returns
    /// whether any was cancelled.
    fn move_requests_to(&mut self, key: PeerKey) -> bool {
        let Some(meta) = &mut self.meta else {
            return false;
        };
        if meta.picker.in_endgame() {
            return false;
        }
        let Some(idle) = self.peers.get(&key) else {
            return false;
        };
        let picker = &meta.picker;
        let movable = |b: &BlockRef| {
            idle.pieces.has(b.piece.get()) && !picker.reserved_for_other(b.piece, key)
        };
        // As many as a fresh pipeline holds, and never the first few of a queue (they are
        // about to arrive).
        let mut moved: Vec<(PeerKey, BlockRef)> = Vec::new();
        // Deepest queues first; the blocks at their backs are the furthest from arriving.
        let mut queues: Vec<(usize, PeerKey)> = self
            .peers
            .iter()
            .filter(|(k, p)| **k != key && p.requests.len() > MIN_DEPTH)
            .map(|(k, p)| (p.requests.len(), *k))
            .collect();
        queues.sort_by_key(|&(len, k)| (std::cmp::Reverse(len), k));
        for (_, other) in queues {
            let Some(p) = self.peers.get(&other) else {
                continue;
            };
            let backs = p.requests.iter().skip(MIN_DEPTH).rev();
            for (b, _) in backs.filter(|(b, _)| movable(b)) {
                if moved.len() >= MIN_DEPTH {
                    break;
                }
                moved.push((other, *b));
            }
            if moved.len() >= MIN_DEPTH {
                break;
            }
        }
        for (other, b) in &moved {
            if let Some(p) = self.peers.get_mut(other) {
                p.take_request(b);
            }
            meta.picker.request_dropped(b, *other);
            let msg = Message::Cancel(BlockInfo {
                index: b.piece.get(),
                begin: b.offset,
                length: b.len,
            });
            self.actions.push_back(Action::Send { peer: *other, msg });
        }
        !moved.is_empty()
    }

    /// Tops up the peer's request pipeline and says how that went.
    fn fill_pipeline(&mut self, now: Instant, key: PeerKey) -> Filled {
        let Some(meta) = &mut self.meta else {
            return Filled::Other;
        };
        let Some(p) = self.peers.get_mut(&key) else {
            return Filled::Other;
        };
        if !p.am_interested || (p.peer_choking && p.allowed_fast.is_empty()) {
            return Filled::Other;
        }
        let rate = p.download_rate_estimate(now);
        let by_rate = (rate as f64 * DEPTH_SECONDS / BLOCK_SIZE as f64).ceil() as usize;
        let depth = by_rate.max(MIN_DEPTH).min(p.max_requests);
        if p.requests.len() >= depth {
            return Filled::Other;
        }
        let mut blocks = std::mem::take(&mut self.scratch);
        blocks.clear();
        let pieces = &p.pieces;
        let seed = pieces.is_seed();
        let choked = p.peer_choking;
        let (allowed, rejected) = (&p.allowed_fast, &p.rejected);
        let usable = |i: u32| (!choked || allowed.contains(&i)) && !rejected.contains(&i);
        let want = depth - p.requests.len();
        if !p.suggested.is_empty() {
            meta.picker.pick_suggested(
                key,
                want,
                seed,
                &p.suggested,
                |i| pieces.has(i) && usable(i),
                &mut blocks,
            );
            // A suggestion is used once; what is left of it stays in progress.
            p.suggested
                .retain(|&i| !blocks.iter().any(|b| b.piece.get() == i));
        }
        // From a seed, what no other peer has first (picker module docs), then the rest.
        meta.picker.pick(
            key,
            want - blocks.len(),
            seed,
            |i| pieces.has(i),
            usable,
            &mut blocks,
        );
        if seed {
            let more = want - blocks.len();
            meta.picker
                .pick(key, more, false, |i| pieces.has(i), usable, &mut blocks);
        }
        let retry = p
            .last_rejected
            .is_none_or(|at| now.saturating_duration_since(at) >= RETRY_REFUSED_AFTER);
        if blocks.is_empty() && !p.rejected.is_empty() && !choked && retry {
            // Only what the peer once refused is left: it may serve it now (a seed past its
            // initial phase), so ask again rather than stall.
            p.rejected.clear();
            meta.picker.pick(
                key,
                want,
                false,
                |i| pieces.has(i),
                |i| !choked || allowed.contains(&i),
                &mut blocks,
            );
        }
        let starved = blocks.is_empty() && p.requests.is_empty() && !choked;
        for b in &blocks {
            p.requests.push_back((*b, now));
        }
        if !blocks.is_empty() {
            p.last_sent = now;
            p.first_request.get_or_insert(now);
        }
        for b in &blocks {
            let msg = Message::Request(BlockInfo {
                index: b.piece.get(),
                begin: b.offset,
                length: b.len,
            });
            self.actions.push_back(Action::Send { peer: key, msg });
        }
        self.scratch = blocks;
        if starved {
            Filled::Starved
        } else {
            Filled::Other
        }
    }

    pub(super) fn on_choke(&mut self, now: Instant, key: PeerKey) {
        let Some(p) = self.peers.get_mut(&key) else {
            return;
        };
        p.peer_choking = true;
        // Without BEP 6 a choke silently discards our requests; with it, rejects will come.
        if !p.fast {
            let dropped: Vec<_> = p.requests.drain(..).map(|(b, _)| b).collect();
            if let Some(meta) = &mut self.meta {
                for b in &dropped {
                    meta.picker.request_dropped(b, key);
                }
            }
            let keys: Vec<PeerKey> = self.peers.keys().copied().filter(|k| *k != key).collect();
            for k in keys {
                self.request_more(now, k);
            }
        }
    }

    pub(super) fn on_reject(&mut self, now: Instant, key: PeerKey, b: BlockInfo) {
        let Some(meta) = &mut self.meta else { return };
        let Some(block) = meta.info.lengths.validate_block(b.index, b.begin, b.length) else {
            return;
        };
        let Some(p) = self.peers.get_mut(&key) else {
            return;
        };
        let freed = p.take_request(&block).is_some();
        if freed {
            meta.picker.request_dropped(&block, key);
            // Asking again at once would likely get the same answer (a seed steering us to
            // other pieces, a peer that lost the piece, an allowed-fast piece refused while
            // choked): ask others until it unchokes anew.
            if p.rejected.len() < crate::peer::MAX_REJECTED {
                p.rejected.insert(b.index);
            }
            p.last_rejected = Some(now);
            // Ask others first: this peer just said no (to this piece; it may have suggested
            // another). A reject of nothing we asked for frees nothing for them.
            let keys: Vec<PeerKey> = self.peers.keys().copied().filter(|k| *k != key).collect();
            for k in keys {
                self.request_more(now, k);
            }
        }
        self.request_more(now, key);
    }

    pub(super) fn on_piece(
        &mut self,
        now: Instant,
        key: PeerKey,
        index: u32,
        begin: u32,
        data: Bytes,
    ) {
        let Some(meta) = &mut self.meta else {
            return self.disconnect(
                now,
                key,
                DisconnectReason::Protocol("block before metadata"),
            );
        };
        let Some(block) =
            meta.info
                .lengths
                .validate_standard_block(index, begin, data.len() as u32)
        else {
            return self.disconnect(
                now,
                key,
                DisconnectReason::Protocol("block we never asked for"),
            );
        };
        let Some(p) = self.peers.get_mut(&key) else {
            return;
        };
        if p.take_request(&block).is_none() {
            // Late (after our time-out or cancel): use it if it is still needed.
            if !meta.picker.is_requested_by(&block, key) && !meta.picker.wants(block.piece) {
                return;
            }
        }
        p.download.add(block.len as u64);
        p.last_block = now;
        p.snubbed = false;
        self.downloaded += block.len as u64;
        let got = meta.picker.block_received(&block, key);
        if got.fresh {
            self.evidence.block(index, begin, key, data.clone());
            self.actions.push_back(Action::StoreBlock { block, data });
            if got.piece_complete {
                self.actions
                    .push_back(Action::VerifyPiece { piece: block.piece });
            }
        }
        for other in got.cancel {
            if let Some(o) = self.peers.get_mut(&other) {
                if o.take_request(&block).is_some() {
                    let msg = Message::Cancel(BlockInfo {
                        index,
                        begin,
                        length: block.len,
                    });
                    self.send(now, other, msg);
                }
            }
        }
        self.request_more(now, key);
    }

    /// The answer to [`Action::VerifyPiece`]: `ok` if the piece matched its hash and is
    /// written, so it can be served. A good piece is announced (`Have`) and may complete
    /// the torrent (`Completed`); a bad one is requested again, and the peers that fed it
    /// may be banned (`Disconnect`). An answer for a piece we have already is ignored.
    pub fn handle_piece_verified(&mut self, now: Instant, piece: PieceIndex, ok: bool) {
        let Some(meta) = &mut self.meta else { return };
        if meta.picker.have().get(piece.get()) {
            return;
        }
        let good = if ok {
            meta.picker.contributors(piece)
        } else {
            Vec::new()
        };
        let blamed = meta.picker.piece_verified(piece, ok);
        self.redeem(&good);
        if !ok {
            self.hash_failures += 1;
            tracing::warn!(
                piece = piece.get(),
                "piece failed its hash check, fetching it again"
            );
            self.evidence.failed(piece.get());
            // A piece one peer fed alone convicts it; a shared one is judged by comparing
            // its blocks with the good copy once the piece passes (`evidence.rs`).
            if blamed.len() == 1 {
                self.blame(now, &blamed, SOLE_FAILURE_STRIKES);
            }
            let keys: Vec<PeerKey> = self.peers.keys().copied().collect();
            for k in keys {
                self.request_more(now, k);
            }
            return;
        }
        let liars = self.evidence.passed(piece.get());
        if !liars.is_empty() {
            let certain = self.config.ban_after_failures;
            self.blame(now, &liars, certain);
        }
        // One pass over the peers, without a lookup per peer: this runs for every piece.
        let complete = self.is_complete();
        let actions = &mut self.actions;
        for (&k, p) in self.peers.iter_mut() {
            // A peer that has the piece cannot use our Have (it never asks us for that
            // piece, and its interest in us does not change), so it is not sent: in a big
            // swarm Haves are most of the messages (libtorrent: `send_redundant_have` off).
            // An allowed-fast piece we now have is of no more use (the set is capped).
            p.allowed_fast.remove(&piece.get());
            if p.pieces.has(piece.get()) {
                p.interesting = p.interesting.saturating_sub(1);
            } else {
                p.last_sent = now;
                let msg = Message::Have(piece.get());
                actions.push_back(Action::Send { peer: k, msg });
            }
            // As `update_interest`.
            let want = p.interesting > 0 && !complete;
            if want != p.am_interested {
                p.am_interested = want;
                p.last_sent = now;
                let msg = if want {
                    Message::Interested
                } else {
                    Message::NotInterested
                };
                actions.push_back(Action::Send { peer: k, msg });
            }
        }
        if self.is_complete() && !self.completed_emitted {
            self.completed_emitted = true;
            self.actions.push_back(Action::Completed);
            self.drop_seeds_if_complete(now);
        }
    }

    /// Frees requests that took too long and marks their peers snubbed.
    pub(super) fn expire_requests(&mut self, now: Instant) {
        let mut timeout = self.config.request_timeout;
        let Some(meta) = &mut self.meta else {
            for key in self.fetch.expire(now, METADATA_TIMEOUT) {
                if let Some(p) = self.peers.get_mut(&key) {
                    p.metadata_requests.clear();
                }
            }
            return;
        };
        if meta.picker.in_endgame() {
            timeout = timeout.min(ENDGAME_REQUEST_TIMEOUT);
        }
        let mut cancels = Vec::new();
        for (key, p) in self.peers.iter_mut() {
            let stalled = p
                .requests
                .front()
                .is_some_and(|(_, at)| now.saturating_duration_since(*at) > timeout)
                && now.saturating_duration_since(p.last_block) > timeout;
            if stalled {
                for (b, _) in p.requests.drain(..) {
                    meta.picker.request_dropped(&b, *key);
                    cancels.push((*key, b));
                }
            }
            if !p.requests.is_empty() && now.saturating_duration_since(p.last_block) > SNUB_AFTER {
                p.snubbed = true;
            }
        }
        for (key, b) in cancels {
            if let Some(p) = self.peers.get_mut(&key) {
                p.snubbed = true;
            }
            let msg = Message::Cancel(BlockInfo {
                index: b.piece.get(),
                begin: b.offset,
                length: b.len,
            });
            self.send(now, key, msg);
        }
    }

    /// Asks the peer for metadata pieces while we have none.
    pub(super) fn request_metadata(&mut self, now: Instant, key: PeerKey) {
        if self.meta.is_some() || !self.fetch.size_known() {
            return;
        }
        let Some(p) = self.peers.get_mut(&key) else {
            return;
        };
        let Some(their_id) = p.ut_metadata else {
            return;
        };
        let mut msgs = Vec::new();
        while p.metadata_requests.len() < METADATA_PIPELINE {
            let Some(piece) = self.fetch.next_request(key, now) else {
                break;
            };
            p.metadata_requests.push((piece, now));
            msgs.push(MetadataMsg::Request { piece }.encode());
        }
        for payload in msgs {
            self.send(
                now,
                key,
                Message::Extended {
                    id: their_id,
                    payload,
                },
            );
        }
    }

    /// All metadata pieces arrived: check them against the info-hash and switch to downloading.
    pub(super) fn metadata_complete(&mut self, now: Instant, buf: Vec<u8>) {
        if InfoHash::from_info_bytes(&buf) != self.info_hash {
            tracing::warn!("received metadata does not match the info-hash; fetching it again");
            return;
        }
        let info = match Info::from_bytes(&buf) {
            Ok(info) => Arc::new(info),
            Err(e) => {
                tracing::error!(error = %e, "metadata matches the info-hash but cannot be used");
                return;
            }
        };
        let info_bytes = Bytes::from(buf);
        let n = info.lengths.num_pieces();
        let picker = Picker::new(info.lengths, Bitfield::new(n), &mut self.rng);
        self.meta = Some(Meta {
            info: info.clone(),
            info_bytes: info_bytes.clone(),
            picker,
        });
        self.actions
            .push_back(Action::MetadataReady { info, info_bytes });
        let keys: Vec<PeerKey> = self.peers.keys().copied().collect();
        for key in keys {
            if let Some(p) = self.peers.get_mut(&key) {
                p.metadata_requests.clear();
                if !matches!(p.pieces, PeerPieces::Unknown { .. }) {
                    continue;
                }
            }
            self.resolve_peer_pieces(now, key);
            self.request_more(now, key);
        }
        if self.is_complete() && !self.completed_emitted {
            self.completed_emitted = true;
            self.actions.push_back(Action::Completed);
        }
    }
}
