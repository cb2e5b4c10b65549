//! The per-torrent state machine: peers, the picker, the choker, metadata fetching.
//!
//! Split by concern, each file holding the inputs it answers: `swarm` manages connections
//! (peers found, connected, closed; dialing, PEX, keep-alives), `opening` our first messages
//! on a connection and the DHT port, `wire` each incoming message, `holepunch` BEP 55
//! (relaying, asking for and dialing hole punches), `download` requests and
//! verified pieces, `upload` served blocks and the choker, `bans` blame for bad data,
//! `stats` the progress snapshot.

mod bans;
mod download;
mod evidence;
mod holepunch;
mod initial;
mod opening;
mod stats;
mod swarm;
mod upload;
mod wire;

use crate::choker::Choker;
use crate::metadata::MetadataFetch;
use crate::peer_table::PeerTable;
use crate::picker::Picker;
use crate::{Action, Config, DisconnectReason, PeerKey};
use bans::Identity;
use bytes::Bytes;
use shoal_core::Rng;
use shoal_core::{Bitfield, Info, InfoHash};
use shoal_wire::Message;
use std::collections::{BTreeMap, BTreeSet, VecDeque};
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::{Duration, Instant};
use swarm::Candidate;

pub use stats::Stats;

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

/// The state machine of one torrent: its peers, the pieces we have and want, and what we
/// owe whom. It performs no I/O and reads no clock. A *driver* (the runtime's task for the
/// torrent, the simulator, a test) feeds it what happened and carries out what it asks.
///
/// # Kinds of methods
///
/// - **Inputs**: the `handle_*` methods and [`shutdown`](Torrent::shutdown) tell the
///   engine that something happened: addresses were found, a connection came up or closed,
///   a message or a hash result arrived, a deadline passed. Each takes `now`, the driver's
///   monotonic time (the engine keeps none of its own), and returns nothing. Whatever the
///   engine wants done in answer is queued as [`Action`]s.
/// - **Outputs**: [`poll_action`](Torrent::poll_action) hands out the queued actions one
///   at a time, in the order they must be carried out, and
///   [`poll_timeout`](Torrent::poll_timeout) says when
///   [`handle_timeout`](Torrent::handle_timeout) is next due. Nothing leaves the engine
///   any other way.
/// - **Queries**: [`stats`](Torrent::stats), [`is_complete`](Torrent::is_complete),
///   [`info`](Torrent::info) and [`info_hash`](Torrent::info_hash) read the state and
///   change nothing.
///
/// # The drain rule
///
/// After every input, call `poll_action` until it returns `None`, carrying out each action
/// as it comes; then call `poll_timeout` and (re)arm one timer for the instant it returns
/// (`None`: no timer, the torrent is shut down). Carrying out an action may feed an input
/// at once (a hash checked in place answered with `handle_piece_verified`): that is allowed
/// in the middle of a drain, which then simply goes on until `poll_action` is empty. Any
/// input can move the deadline, so read it after each drain. Calling `handle_timeout`
/// before the deadline, or twice, does no harm.
///
/// # What each action asks of the driver
///
/// - [`Connect`](Action::Connect): dial the address and exchange handshakes (ours with
///   [`our_reserved_bits`](crate::our_reserved_bits)). Answer with
///   [`handle_peer_connected`](Torrent::handle_peer_connected) under a new key, or with
///   [`handle_connect_failed`](Torrent::handle_connect_failed).
/// - [`HolepunchConnect`](Action::HolepunchConnect) (only with
///   [`Config::holepunch`](crate::Config::holepunch)): dial at once over uTP only, a relay
///   having told the peer to dial us at the same moment (BEP 55). Answered as `Connect`.
/// - [`Send`](Action::Send): queue the message on that connection, in order. No answer.
/// - [`Disconnect`](Action::Disconnect): close the connection once its queue is written.
///   No answer: the engine has already forgotten the peer.
/// - [`StoreBlock`](Action::StoreBlock): keep the block until its piece is verified. No
///   answer.
/// - [`VerifyPiece`](Action::VerifyPiece): hash the piece's stored blocks, write them if
///   the hash matches, drop them either way. Answer with
///   [`handle_piece_verified`](Torrent::handle_piece_verified).
/// - [`ReadBlock`](Action::ReadBlock): read the block from verified data and send it as a
///   `Piece` message, in order with that peer's `Send`s. Answer with
///   [`handle_block_sent`](Torrent::handle_block_sent) once it is written.
/// - [`DhtNode`](Action::DhtNode): add the address to the DHT node, if one runs. No answer.
/// - [`AddressReported`](Action::AddressReported): count the peer's view of our address
///   towards our external address. No answer.
/// - [`MetadataReady`](Action::MetadataReady): open storage for the torrent's files. No
///   answer.
/// - [`Completed`](Action::Completed): make the data durable and tell the user. No answer.
///
/// Besides those answers the driver reports what happens on its own: addresses from
/// trackers, the DHT, LSD or the user ([`handle_peers_found`](Torrent::handle_peers_found)),
/// connections that peers open to us (`handle_peer_connected` with `outbound` false),
/// which connections run over uTP ([`handle_peer_over_utp`](Torrent::handle_peer_over_utp),
/// right after `handle_peer_connected`),
/// every message received ([`handle_message`](Torrent::handle_message)), connections that
/// close or fail ([`handle_peer_closed`](Torrent::handle_peer_closed)), and the port of
/// its DHT node once it runs ([`handle_dht_port`](Torrent::handle_dht_port)).
///
/// The driver names each connection with a [`PeerKey`] it never reuses. A peer refused or
/// dropped by the engine (a `Disconnect`) or reported closed is gone for good: messages
/// for its key are ignored.
///
/// # Example: two engines and a toy driver
///
/// A seeder and a leecher, their "connection" two queues of messages, their "disk" a map
/// of blocks; the loop is the drain rule above, with time jumping to the next deadline
/// whenever nothing is in flight.
///
/// ```
/// use bytes::Bytes;
/// use shoal_core::{Bitfield, Info, InfoHash, PeerId};
/// use shoal_engine::{Action, Config, PeerKey, PeerSource, Torrent};
/// use shoal_wire::Message;
/// use std::collections::{BTreeMap, VecDeque};
/// use std::sync::Arc;
/// use std::time::{Duration, Instant};
///
/// /// What one side's driver holds besides its engine.
/// struct Side {
///     engine: Torrent,
///     data: Vec<u8>,
///     stored: BTreeMap<(u32, u32), Bytes>,
///     inbox: VecDeque<Message>,
///     dialing: bool,
///     complete: bool,
/// }
///
/// /// The drain: carries out every queued action; messages go to the other side's inbox.
/// fn drain(side: &mut Side, info: &Info, now: Instant, to_other: &mut VecDeque<Message>) {
///     while let Some(action) = side.engine.poll_action() {
///         match action {
///             Action::Connect { .. } | Action::HolepunchConnect { .. } => side.dialing = true,
///             Action::Send { msg, .. } => to_other.push_back(msg),
///             Action::StoreBlock { block, data } => {
///                 side.stored.insert((block.piece.get(), block.offset), data);
///             }
///             Action::VerifyPiece { piece } => {
///                 let i = piece.get();
///                 let blocks = side.stored.range((i, 0)..(i + 1, 0));
///                 let bytes: Vec<u8> = blocks.flat_map(|(_, b)| b.to_vec()).collect();
///                 side.stored.retain(|(p, _), _| *p != i);
///                 let ok = sha1_of(&bytes) == info.pieces[i as usize];
///                 if ok {
///                     let at = info.lengths.piece_offset(piece) as usize;
///                     side.data[at..at + bytes.len()].copy_from_slice(&bytes);
///                 }
///                 side.engine.handle_piece_verified(now, piece, ok); // an input mid-drain
///             }
///             Action::ReadBlock { peer, block } => {
///                 let piece_at = info.lengths.piece_offset(block.piece);
///                 let at = (piece_at + u64::from(block.offset)) as usize;
///                 let data = Bytes::copy_from_slice(&side.data[at..at + block.len as usize]);
///                 let (index, begin) = (block.piece.get(), block.offset);
///                 to_other.push_back(Message::Piece { index, begin, data });
///                 side.engine.handle_block_sent(now, peer, block.len);
///             }
///             Action::Completed => side.complete = true,
///             // A magnet download, a DHT node, a dropped peer: not in this exchange.
///             Action::MetadataReady { .. }
///             | Action::DhtNode { .. }
///             | Action::AddressReported { .. }
///             | Action::Disconnect { .. } => {}
///         }
///     }
/// }
/// # fn sha1_of(bytes: &[u8]) -> [u8; 20] {
/// #     use sha1::Digest;
/// #     sha1::Sha1::digest(bytes).into()
/// # }
/// # // A torrent of two pieces, 40 KiB in all.
/// # let content: Vec<u8> = (0..40_960u32).map(|i| (i % 251) as u8).collect();
/// # let hashes: Vec<u8> = content.chunks(32_768).flat_map(sha1_of).collect();
/// # let info_bytes = shoal_bencode::Owned::dict()
/// #     .with("length", content.len() as i64)
/// #     .with("name", "demo")
/// #     .with("piece length", 32_768i64)
/// #     .with("pieces", hashes)
/// #     .build()
/// #     .encode();
/// # let info = Arc::new(Info::from_bytes(&info_bytes).unwrap());
/// # let info_hash = InfoHash::from_info_bytes(&info_bytes);
/// # let info_bytes = Bytes::from(info_bytes);
///
/// // `content`, `info` (its parsed info dictionary), `info_bytes` and `info_hash` describe
/// // a small torrent; the seeder has all of it.
/// let start = Instant::now();
/// let mut now = start;
/// let pieces = info.lengths.num_pieces();
/// let meta = Some((info.clone(), info_bytes));
/// let side = |have: Option<Bitfield>, id: u8, data: Vec<u8>| Side {
///     engine: Torrent::new(now, info_hash, meta.clone(), have, Config::new(PeerId([id; 20]))),
///     data,
///     stored: BTreeMap::new(),
///     inbox: VecDeque::new(),
///     dialing: false,
///     complete: false,
/// };
/// let mut seeder = side(Some(Bitfield::full(pieces)), 1, content.clone());
/// let mut leecher = side(None, 2, vec![0; content.len()]);
///
/// // An input: the leecher hears of the seeder (its first drain will ask to dial it).
/// let seed_addr = "192.0.2.1:6881".parse().unwrap();
/// let leech_addr = "192.0.2.2:50000".parse().unwrap();
/// leecher.engine.handle_peers_found(now, &[seed_addr], PeerSource::Tracker);
/// let mut connected = false;
/// while !leecher.complete {
///     drain(&mut seeder, &info, now, &mut leecher.inbox);
///     drain(&mut leecher, &info, now, &mut seeder.inbox);
///     // The next input: a finished dial, else a message, else the earliest deadline.
///     let reserved = shoal_engine::our_reserved_bits();
///     let key = PeerKey(1); // each side's name for its only connection
///     if leecher.dialing && !connected {
///         connected = true;
///         let (seed_id, leech_id) = (PeerId([1; 20]), PeerId([2; 20]));
///         leecher.engine.handle_peer_connected(now, key, seed_addr, seed_id, reserved, true);
///         seeder.engine.handle_peer_connected(now, key, leech_addr, leech_id, reserved, false);
///     } else if let Some(msg) = seeder.inbox.pop_front() {
///         seeder.engine.handle_message(now, key, msg);
///     } else if let Some(msg) = leecher.inbox.pop_front() {
///         leecher.engine.handle_message(now, key, msg);
///     } else {
///         let deadlines = [seeder.engine.poll_timeout(), leecher.engine.poll_timeout()];
///         now = deadlines.into_iter().flatten().min().expect("both engines run");
///         assert!(now - start < Duration::from_secs(60), "the download stalled");
///         seeder.engine.handle_timeout(now);
///         leecher.engine.handle_timeout(now);
///     }
/// }
/// assert_eq!(leecher.data, content);
/// assert!(leecher.engine.is_complete());
/// ```
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
    /// Our own listen address as peers see it (their `yourip` with our listen port), never
    /// dialed: libtorrent's PEX lists the receiving peer itself. Bounded.
    own_addrs: BTreeSet<SocketAddr>,
    /// Hole punching (BEP 55): introducers, rendezvous asked for, dials in flight.
    holepunch: crate::holepunch::Holepunch,
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
    /// A torrent with no peers yet. `info` (the parsed info dictionary and its bencoded
    /// bytes) is `None` for a magnet download that must fetch the metadata from peers
    /// first. `have` holds the pieces already verified on disk (ignored without `info`, or
    /// if its length is not the piece count). A torrent that starts complete emits no
    /// `Completed`: check [`Torrent::is_complete`]. Queues no action; the first deadline
    /// is one tick after `now`.
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
            own_addrs: BTreeSet::new(),
            holepunch: crate::holepunch::Holepunch::new(now),
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

    /// The deadline from [`Torrent::poll_timeout`] passed: housekeeping (rates, requests that
    /// took too long, keep-alives and idle peers, choke rounds, PEX, dialing more peers).
    /// Early calls do nothing.
    pub fn handle_timeout(&mut self, now: Instant) {
        if now < self.next_tick || self.shut_down {
            return;
        }
        self.tick(now);
        self.next_tick = now + TICK;
    }

    /// Stops the torrent: every peer is dropped (a `Disconnect` each), no more are dialed
    /// or accepted, and [`Torrent::poll_timeout`] returns `None` from now on.
    pub fn shutdown(&mut self, now: Instant) {
        let keys: Vec<PeerKey> = self.peers.keys().copied().collect();
        self.shut_down = true;
        for key in keys {
            self.disconnect(now, key, DisconnectReason::Shutdown);
        }
    }

    /// The next thing the driver must do, in order; `None` once the queue is empty (see
    /// the drain rule on [`Torrent`]).
    #[must_use = "an action left in the queue is never carried out"]
    pub fn poll_action(&mut self) -> Option<Action> {
        self.actions.pop_front()
    }

    /// When [`Torrent::handle_timeout`] is next due; `None` after [`Torrent::shutdown`].
    /// Read it after each drain: inputs move it.
    #[must_use = "the engine needs handle_timeout at this instant"]
    pub fn poll_timeout(&self) -> Option<Instant> {
        (!self.shut_down).then_some(self.next_tick)
    }

    /// Whether every piece is verified (false while the metadata is unknown).
    #[must_use]
    pub fn is_complete(&self) -> bool {
        self.meta.as_ref().is_some_and(|m| m.picker.is_complete())
    }

    /// The info dictionary, once known (at once, or after `MetadataReady` for a magnet).
    #[must_use]
    pub fn info(&self) -> Option<&Arc<Info>> {
        self.meta.as_ref().map(|m| &m.info)
    }

    /// The info-hash this torrent was created with.
    #[must_use]
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

    /// Forgets a peer, as if its connection had closed, and tells the driver to close it.
    fn disconnect(&mut self, now: Instant, key: PeerKey, reason: DisconnectReason) {
        if self.peers.contains_key(&key) {
            tracing::debug!(peer = key.0, ?reason, "disconnecting peer");
            self.handle_peer_closed(now, key);
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
        self.send_pex(now);
        let keys: Vec<PeerKey> = self.peers.keys().copied().collect();
        for key in keys {
            self.request_more(now, key);
            self.request_metadata(now, key);
        }
        self.connect_more(now);
        self.ask_rendezvous_early(now);
    }
}
