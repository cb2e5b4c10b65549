//! The per-torrent state machine: peers, the picker, the choker, metadata fetching.
//!
//! Split by concern: `wire` handles each incoming message, `download` requests blocks and
//! takes in pieces, `upload` serves requests and runs the choker, `swarm` manages
//! connections, PEX and bans.

mod download;
mod evidence;
mod initial;
mod swarm;
mod upload;
mod wire;

use crate::metadata::MetadataFetch;
use crate::peer_table::PeerTable;
use crate::picker::Picker;
use crate::{Action, Choker, Config, DisconnectReason, PeerSource};
use bytes::Bytes;
use shoal_core::{Bitfield, Info, InfoHash, PeerId, PieceIndex, Rng};
use shoal_wire::Message;
use std::collections::{BTreeMap, BTreeSet, VecDeque};
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::{Duration, Instant};
use swarm::{Candidate, Identity};

/// The driver's handle for one connection; unique for the torrent's lifetime.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct PeerKey(pub u64);

/// A snapshot for progress display.
#[derive(Debug, Clone, Default)]
pub struct Stats {
    /// Verified payload bytes we have.
    pub have_bytes: u64,
    pub total_bytes: u64,
    pub have_pieces: u32,
    pub total_pieces: u32,
    /// Payload bytes received / sent since start.
    pub downloaded: u64,
    pub uploaded: u64,
    /// Smoothed payload rates over all peers, bytes per second.
    pub download_rate: u64,
    pub upload_rate: u64,
    pub connected_peers: usize,
    /// Connected peers that have every piece.
    pub connected_seeds: usize,
    /// Connected peers interested in what we have.
    pub interested_peers: usize,
    /// Interested peers we unchoke (our upload slots in use).
    pub unchoked_peers: usize,
    /// Their requests we hold: queued plus being read or sent.
    pub queued_requests: usize,
    /// Peers we know but are not connected to.
    pub known_peers: usize,
    pub hash_failures: u32,
    pub banned_peers: usize,
    /// Whether the metadata is known (always true unless fetching a magnet).
    pub has_metadata: bool,
    /// Connected peers by where we learned of them.
    pub peers_by_source: Vec<(PeerSource, usize)>,
}

/// Everything that exists once the info dictionary is known.
struct Meta {
    info: Arc<Info>,
    info_bytes: Bytes,
    picker: Picker,
}

/// Housekeeping period: rates, time-outs, dialing.
const TICK: Duration = Duration::from_secs(1);
/// Choke rounds every this many ticks.
const CHOKE_EVERY: u64 = 10;
/// PEX messages every this many ticks (BEP 11 asks for at most one a minute).
const PEX_EVERY: u64 = 60;

pub struct Torrent {
    config: Config,
    info_hash: InfoHash,
    meta: Option<Meta>,
    fetch: MetadataFetch,
    peers: PeerTable,
    /// The peers we unchoke (`!am_choking`), so slot decisions need not walk every peer.
    unchoked: Vec<PeerKey>,
    candidates: BTreeMap<SocketAddr, Candidate>,
    /// Identity of peers that left recently, for blame when a piece they fed fails.
    departed: BTreeMap<PeerKey, (Identity, Option<SocketAddr>)>,
    strikes: BTreeMap<Identity, u32>,
    /// Blocks of pieces in progress and of failed pieces, to find who sent a bad block.
    evidence: evidence::Evidence,
    banned: BTreeSet<Identity>,
    /// Listen addresses of banned peers, never dialed again.
    banned_addrs: BTreeSet<SocketAddr>,
    /// IPv4 /24 subnets of the peers currently holding our allowed-fast offer.
    fast_subnets: BTreeSet<u32>,
    choker: Choker,
    /// Set while a torrent that started complete has blocks that never left it.
    initial: Option<initial::InitialSeeding>,
    rng: Rng,
    actions: VecDeque<Action>,
    next_tick: Instant,
    last_tick: Instant,
    ticks: u64,
    completed_emitted: bool,
    shut_down: bool,
    downloaded: u64,
    uploaded: u64,
    hash_failures: u32,
    scratch: Vec<shoal_core::BlockRef>,
}

impl Torrent {
    /// `info` is `None` for a magnet download that must fetch the metadata first.
    /// `have` holds the pieces already verified on disk (ignored without `info`).
    /// A torrent that starts complete emits no `Completed`; check [`Torrent::is_complete`].
    pub fn new(
        now: Instant,
        info_hash: InfoHash,
        info: Option<(Arc<Info>, Bytes)>,
        have: Option<Bitfield>,
        config: Config,
    ) -> Torrent {
        let mut rng = Rng::new(config.rng_seed);
        let meta = info.map(|(info, info_bytes)| {
            let n = info.lengths.num_pieces();
            let have = have
                .filter(|h| h.len() == n)
                .unwrap_or_else(|| Bitfield::new(n));
            let picker = Picker::new(info.lengths, have, &mut rng);
            Meta {
                info,
                info_bytes,
                picker,
            }
        });
        let completed_emitted = meta.as_ref().is_some_and(|m| m.picker.is_complete());
        let initial = meta
            .as_ref()
            .filter(|m| m.picker.is_complete())
            .map(|m| initial::InitialSeeding::new(&m.info.lengths));
        Torrent {
            choker: Choker::new(config.upload_slots, config.seed_upload_slots),
            initial,
            config,
            info_hash,
            meta,
            fetch: MetadataFetch::default(),
            peers: PeerTable::default(),
            unchoked: Vec::new(),
            candidates: BTreeMap::new(),
            departed: BTreeMap::new(),
            strikes: BTreeMap::new(),
            evidence: evidence::Evidence::default(),
            banned: BTreeSet::new(),
            banned_addrs: BTreeSet::new(),
            fast_subnets: BTreeSet::new(),
            rng,
            actions: VecDeque::new(),
            next_tick: now + TICK,
            last_tick: now,
            ticks: 0,
            completed_emitted,
            shut_down: false,
            downloaded: 0,
            uploaded: 0,
            hash_failures: 0,
            scratch: Vec::new(),
        }
    }

    /// New candidate addresses to dial.
    pub fn add_peers(&mut self, now: Instant, addrs: &[SocketAddr], source: PeerSource) {
        for &addr in addrs {
            self.add_candidate(now, addr, source);
        }
        self.connect_more(now);
    }

    /// A connection finished its handshake (either direction). `reserved` are the peer's
    /// handshake reserved bytes. Returns false if the engine refuses the peer (banned,
    /// duplicate, too many, ourselves); the driver then closes it.
    pub fn handle_peer_connected(
        &mut self,
        now: Instant,
        key: PeerKey,
        addr: SocketAddr,
        peer_id: PeerId,
        reserved: [u8; 8],
        outbound: bool,
    ) -> bool {
        self.accept_peer(now, key, addr, peer_id, reserved, outbound)
    }

    /// A dial requested with `Action::Connect` failed before the handshake completed.
    pub fn handle_connect_failed(&mut self, now: Instant, addr: SocketAddr) {
        self.dial_failed(now, addr);
    }

    pub fn handle_message(&mut self, now: Instant, key: PeerKey, msg: Message) {
        self.on_message(now, key, msg);
    }

    /// The connection closed or failed (read error, write error, EOF).
    pub fn handle_peer_closed(&mut self, now: Instant, key: PeerKey) {
        self.remove_peer(now, key);
    }

    /// Answer to `Action::VerifyPiece`: `ok` means the hash matched and the piece is on disk.
    pub fn handle_piece_verified(&mut self, now: Instant, piece: PieceIndex, ok: bool) {
        self.on_piece_verified(now, piece, ok);
    }

    /// Pieces found valid on disk after the metadata of a magnet arrived (resume).
    pub fn handle_existing_pieces(&mut self, now: Instant, have: &Bitfield) {
        let Some(meta) = &self.meta else { return };
        if have.len() != meta.info.lengths.num_pieces() {
            return;
        }
        let lengths = meta.info.lengths;
        let new: Vec<PieceIndex> = have
            .iter_ones()
            .filter(|&i| !meta.picker.have().get(i))
            .filter_map(|i| lengths.validate_piece(i))
            .collect();
        for piece in new {
            self.on_piece_verified(now, piece, true);
        }
    }

    /// Upload accounting after `Action::ReadBlock` was served.
    pub fn handle_block_sent(&mut self, now: Instant, key: PeerKey, bytes: u32) {
        self.on_block_sent(now, key, bytes);
    }

    pub fn handle_timeout(&mut self, now: Instant) {
        if now < self.next_tick || self.shut_down {
            return;
        }
        self.tick(now);
        self.next_tick = now + TICK;
    }

    /// Drop every peer (emits `Disconnect` for each) and stop dialing.
    pub fn shutdown(&mut self) {
        let keys: Vec<PeerKey> = self.peers.keys().copied().collect();
        let now = self.last_tick;
        self.shut_down = true;
        for key in keys {
            self.disconnect(now, key, DisconnectReason::Shutdown);
        }
    }

    pub fn poll_action(&mut self) -> Option<Action> {
        self.actions.pop_front()
    }

    pub fn poll_timeout(&self) -> Option<Instant> {
        (!self.shut_down).then_some(self.next_tick)
    }

    pub fn stats(&self) -> Stats {
        let mut by_source: BTreeMap<u8, (PeerSource, usize)> = BTreeMap::new();
        for p in self.peers.values() {
            let source = self.source_of(p);
            by_source.entry(source as u8).or_insert((source, 0)).1 += 1;
        }
        let (have_bytes, total_bytes, have_pieces, total_pieces) = match &self.meta {
            Some(m) => (
                m.picker.have_bytes(),
                m.info.lengths.total(),
                m.picker.have().count(),
                m.info.lengths.num_pieces(),
            ),
            None => (0, 0, 0, 0),
        };
        Stats {
            have_bytes,
            total_bytes,
            have_pieces,
            total_pieces,
            downloaded: self.downloaded,
            uploaded: self.uploaded,
            download_rate: self.peers.values().map(|p| p.download.per_second()).sum(),
            upload_rate: self.peers.values().map(|p| p.upload.per_second()).sum(),
            connected_peers: self.peers.len(),
            connected_seeds: self.peers.values().filter(|p| p.pieces.is_seed()).count(),
            interested_peers: self.peers.values().filter(|p| p.peer_interested).count(),
            unchoked_peers: self
                .peers
                .values()
                .filter(|p| p.peer_interested && !p.am_choking)
                .count(),
            queued_requests: self
                .peers
                .values()
                .map(|p| p.upload_queue.len() + p.uploads_in_flight as usize)
                .sum(),
            known_peers: self.candidates.values().filter(|c| c.is_idle()).count(),
            hash_failures: self.hash_failures,
            banned_peers: self.banned.len(),
            has_metadata: self.meta.is_some(),
            peers_by_source: by_source.into_values().collect(),
        }
    }

    pub fn is_complete(&self) -> bool {
        self.meta.as_ref().is_some_and(|m| m.picker.is_complete())
    }

    pub fn info(&self) -> Option<&Arc<Info>> {
        self.meta.as_ref().map(|m| &m.info)
    }

    pub fn info_hash(&self) -> InfoHash {
        self.info_hash
    }

    /// Queues a message and notes the time for keep-alives.
    fn send(&mut self, now: Instant, key: PeerKey, msg: Message) {
        if let Some(p) = self.peers.get_mut(&key) {
            p.last_sent = now;
            self.actions.push_back(Action::Send { peer: key, msg });
        }
    }

    /// Forgets a peer and tells the driver to close it.
    fn disconnect(&mut self, now: Instant, key: PeerKey, reason: DisconnectReason) {
        if self.peers.contains_key(&key) {
            tracing::debug!(peer = key.0, ?reason, "disconnecting peer");
            self.remove_peer(now, key);
            self.actions
                .push_back(Action::Disconnect { peer: key, reason });
        }
    }

    fn tick(&mut self, now: Instant) {
        let elapsed = now.saturating_duration_since(self.last_tick);
        self.last_tick = now;
        self.ticks += 1;
        for p in self.peers.values_mut() {
            p.download.tick(elapsed);
            p.upload.tick(elapsed);
        }
        self.expire_requests(now);
        self.keepalive_and_idle(now);
        if self.ticks % CHOKE_EVERY == 1 {
            self.choke_round(now);
        } else {
            self.fill_upload_slots(now);
        }
        if self.ticks % PEX_EVERY == 2 {
            self.send_pex(now);
        }
        let keys: Vec<PeerKey> = self.peers.keys().copied().collect();
        for key in keys {
            self.request_more(now, key);
            self.request_metadata(now, key);
        }
        self.connect_more(now);
    }
}

/// Reserved handshake bits we set: BEP 10 extension protocol and BEP 6 fast extension.
pub fn our_reserved_bits() -> [u8; 8] {
    let mut r = [0u8; 8];
    r[5] |= 0x10;
    r[7] |= 0x04;
    r
}
