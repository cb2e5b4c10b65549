//! What the engine knows about one connected peer.

use crate::shared::Capabilities;
use bytes::Bytes;
use shoal_core::{Bitfield, BlockRef, PeerId};
use std::collections::{BTreeSet, VecDeque};
use std::net::SocketAddr;
use std::time::{Duration, Instant};

/// Most suggested pieces remembered per peer (the oldest are forgotten).
pub(crate) const MAX_SUGGESTED: usize = 16;
/// Most rejected pieces remembered per peer.
pub(crate) const MAX_REJECTED: usize = 1024;

/// How long after the first request the average since then backs the smoothed rate.
const RATE_WARMUP: Duration = Duration::from_secs(3);

/// Most `Have` messages remembered for a peer before we know the piece count (magnet).
const MAX_EARLY_HAVES: usize = 100_000;

/// The pieces a peer has. Before the metadata is known the bitfield cannot be validated,
/// so it is kept raw.
#[derive(Debug, Clone)]
pub(crate) enum PeerPieces {
    Unknown {
        bitfield: Option<Bytes>,
        haves: Vec<u32>,
        all: bool,
    },
    Known(Bitfield),
}

impl PeerPieces {
    pub(crate) fn has(&self, i: u32) -> bool {
        match self {
            PeerPieces::Known(b) => b.get(i),
            PeerPieces::Unknown { .. } => false,
        }
    }

    pub(crate) fn is_seed(&self) -> bool {
        matches!(self, PeerPieces::Known(b) if b.is_full())
    }

    /// Before the metadata: folds a later bitfield (or, with `all`, a have-all) into what the
    /// peer is remembered to have. Bitfields of different lengths cannot be merged; the newer
    /// one wins, and the length is checked once the metadata arrives.
    pub(crate) fn merge_unknown(&mut self, bits: Bytes, all: bool) {
        let PeerPieces::Unknown {
            bitfield,
            all: had_all,
            ..
        } = self
        else {
            return;
        };
        if all {
            *had_all = true;
            return;
        }
        *bitfield = Some(match bitfield.take() {
            Some(old) if old.len() == bits.len() => old
                .iter()
                .zip(bits.iter())
                .map(|(a, b)| a | b)
                .collect::<Vec<u8>>()
                .into(),
            _ => bits,
        });
    }

    pub(crate) fn remember_have(&mut self, index: u32) {
        if let PeerPieces::Unknown { haves, .. } = self {
            if haves.len() < MAX_EARLY_HAVES {
                haves.push(index);
            }
        }
    }
}

/// A rolling byte-rate estimate over whole seconds.
#[derive(Debug, Clone, Default)]
pub(crate) struct Rate {
    /// Bytes counted since the last `tick`.
    current: u64,
    /// Exponentially smoothed bytes per second.
    smoothed: f64,
    pub total: u64,
}

impl Rate {
    pub(crate) fn add(&mut self, bytes: u64) {
        self.current += bytes;
        self.total += bytes;
    }

    /// Folds the bytes of the last `elapsed` into the estimate.
    pub(crate) fn tick(&mut self, elapsed: Duration) {
        let secs = elapsed.as_secs_f64().max(0.001);
        let sample = self.current as f64 / secs;
        self.smoothed = if self.smoothed == 0.0 {
            sample
        } else {
            self.smoothed * 0.6 + sample * 0.4
        };
        self.current = 0;
    }

    pub(crate) fn per_second(&self) -> u64 {
        self.smoothed as u64
    }
}

#[derive(Debug)]
pub(crate) struct Peer {
    pub addr: SocketAddr,
    pub peer_id: PeerId,
    pub outbound: bool,
    pub fast: bool,
    pub extensions: bool,
    /// Set the DHT bit (BEP 5): gets our `PORT` once we know it.
    pub dht: bool,

    pub am_choking: bool,
    pub am_interested: bool,
    pub peer_choking: bool,
    pub peer_interested: bool,

    pub pieces: PeerPieces,
    /// Pieces the peer has and we lack and have not finished.
    pub interesting: u32,
    /// Whether the first message (bitfield / have all / have none) may still come.
    pub expect_bitfield: bool,

    /// Our requests to the peer, oldest first, with the time each was sent.
    pub requests: VecDeque<(BlockRef, Instant)>,
    /// Their requests to us that wait for an upload slot (bounded).
    pub upload_queue: VecDeque<BlockRef>,
    /// Reads handed to the driver and not yet reported sent.
    pub uploads_in_flight: u32,
    /// Pieces the peer lets us fetch while choked (BEP 6).
    pub allowed_fast: BTreeSet<u32>,
    /// Pieces we let the peer fetch while we choke it (BEP 6).
    pub offered_fast: BTreeSet<u32>,
    /// Pieces the peer suggested (BEP 6), newest last, bounded by `MAX_SUGGESTED`.
    pub suggested: Vec<u32>,
    /// Pieces the peer rejected a request for since it last unchoked us: not asked again
    /// until then (bounded by `MAX_REJECTED`).
    pub rejected: BTreeSet<u32>,
    /// When the peer last rejected a request of ours.
    pub last_rejected: Option<Instant>,
    /// How many requests the peer accepts at once (BEP 10 `reqq`).
    pub max_requests: usize,

    /// Extension ids the peer assigned (BEP 10 `m`).
    pub ut_metadata: Option<u8>,
    pub ut_pex: Option<u8>,
    pub ut_holepunch: Option<u8>,
    /// The connection runs over uTP (the runtime said so): its source port is the peer's
    /// uTP socket as we see it, the endpoint a hole punch must aim at.
    pub utp: bool,
    /// When this peer's next PEX message is due (set once it announces ut_pex).
    pub pex_due: Option<Instant>,
    /// Connects for addresses we did not ask about that this peer may still make us dial
    /// (BEP 55: we are the target of someone else's rendezvous).
    pub connects_allowed: crate::holepunch::Bucket,
    /// Rendezvous of this peer we may still relay.
    pub rendezvous_allowed: crate::holepunch::Bucket,
    /// The port the peer accepts connections on, if it told us.
    pub listen_port: Option<u16>,
    pub client: Option<String>,

    pub download: Rate,
    pub upload: Rate,
    pub last_received: Instant,
    pub last_sent: Instant,
    /// Last time the peer delivered a block we asked for.
    pub last_block: Instant,
    /// When we first sent the peer a request; the rate estimate leans on it until the
    /// smoothed rate has a few samples.
    pub first_request: Option<Instant>,
    /// When we last unchoked the peer.
    pub unchoked_at: Instant,
    pub snubbed: bool,
    /// Metadata pieces we asked this peer for (magnet), with the time asked.
    pub metadata_requests: Vec<(u32, Instant)>,
    /// Addresses we already told this peer about via PEX.
    pub pex_sent: BTreeSet<SocketAddr>,
}

impl Peer {
    pub(crate) fn new(
        now: Instant,
        addr: SocketAddr,
        peer_id: PeerId,
        outbound: bool,
        caps: Capabilities,
    ) -> Peer {
        Peer {
            addr,
            peer_id,
            outbound,
            fast: caps.fast,
            extensions: caps.extensions,
            dht: caps.dht,
            am_choking: true,
            am_interested: false,
            peer_choking: true,
            peer_interested: false,
            pieces: PeerPieces::Unknown {
                bitfield: None,
                haves: Vec::new(),
                all: false,
            },
            interesting: 0,
            expect_bitfield: true,
            requests: VecDeque::new(),
            upload_queue: VecDeque::new(),
            uploads_in_flight: 0,
            allowed_fast: BTreeSet::new(),
            offered_fast: BTreeSet::new(),
            suggested: Vec::new(),
            rejected: BTreeSet::new(),
            last_rejected: None,
            max_requests: 250,
            ut_metadata: None,
            ut_pex: None,
            ut_holepunch: None,
            utp: false,
            pex_due: None,
            connects_allowed: crate::holepunch::relay_bucket(now),
            rendezvous_allowed: crate::holepunch::rendezvous_bucket(now),
            listen_port: None,
            client: None,
            download: Rate::default(),
            upload: Rate::default(),
            last_received: now,
            last_sent: now,
            last_block: now,
            first_request: None,
            unchoked_at: now,
            snubbed: false,
            metadata_requests: Vec::new(),
            pex_sent: BTreeSet::new(),
        }
    }

    /// The address others can dial to reach this peer.
    pub(crate) fn dialable_addr(&self) -> Option<SocketAddr> {
        if self.outbound {
            Some(self.addr)
        } else {
            self.listen_port
                .filter(|p| *p != 0)
                .map(|p| SocketAddr::new(self.addr.ip(), p))
        }
    }

    /// Where a hole punch to this peer must aim (BEP 55): over uTP the address we see,
    /// which is its uTP socket as its NAT maps it; over TCP the address we dialed, or for
    /// a peer that dialed us its IP with its listen port (the TCP source port is an
    /// ephemeral one, of no use to anybody).
    pub(crate) fn holepunch_endpoint(&self) -> Option<SocketAddr> {
        if self.utp || self.outbound {
            Some(self.addr)
        } else {
            self.dialable_addr()
        }
    }

    /// Whether `addr` names this peer: the address of the connection, the one others dial,
    /// or the one a hole punch aims at.
    pub(crate) fn is_at(&self, addr: SocketAddr) -> bool {
        self.addr == addr
            || self.dialable_addr() == Some(addr)
            || self.holepunch_endpoint() == Some(addr)
    }

    /// Payload bytes per second the peer sends us. For the first seconds of a connection the
    /// one-second samples lag far behind (a small torrent may be done by then), so the
    /// average since our first request counts too; it includes the first round trip and so
    /// errs low.
    pub(crate) fn download_rate_estimate(&self, now: Instant) -> u64 {
        let smoothed = self.download.per_second();
        let Some(start) = self.first_request else {
            return smoothed;
        };
        let elapsed = now.saturating_duration_since(start);
        if elapsed > RATE_WARMUP || elapsed.is_zero() {
            return smoothed;
        }
        let average = self.download.total as f64 / elapsed.as_secs_f64();
        smoothed.max(average as u64)
    }

    /// Whether we unchoke this interested peer and it uses the slot: it has requests with us,
    /// or we unchoked it less than `grace` ago.
    pub(crate) fn upload_slot_busy(&self, now: Instant, grace: Duration) -> bool {
        !self.am_choking
            && self.peer_interested
            && (!self.upload_queue.is_empty()
                || self.uploads_in_flight > 0
                || now.saturating_duration_since(self.unchoked_at) < grace)
    }

    /// Removes and returns the request for `block`, if we made one.
    pub(crate) fn take_request(&mut self, block: &BlockRef) -> Option<Instant> {
        // Blocks mostly arrive in request order, so the front is the usual hit.
        let pos = self.requests.iter().position(|(b, _)| b == block)?;
        self.requests.remove(pos).map(|(_, t)| t)
    }
}
