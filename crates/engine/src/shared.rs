//! Small types every layer of the engine uses, from the picker up to the `Torrent`: kept at
//! the bottom so that no low module has to reach up into `torrent` for them.

use shoal_core::{InfoHash, PeerId};
use shoal_wire::Handshake;

/// The driver's handle for one connection, chosen by the driver and unique for the
/// torrent's lifetime (a key is never reused, even after its peer left).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct PeerKey(pub u64);

/// Where a peer address came from; shown to the user and used to prefer sources.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum PeerSource {
    /// Given on the command line or as an `x.pe` hint.
    Hint,
    /// A tracker's announce reply.
    Tracker,
    /// A DHT lookup (BEP 5).
    Dht,
    /// Local service discovery (BEP 14).
    Lsd,
    /// Another peer's PEX message (BEP 11).
    Pex,
    /// The peer connected to us.
    Incoming,
}

/// The handshake reserved bits the engine speaks: the extension protocol (BEP 10) and the
/// fast extension (BEP 6). The DHT bit (BEP 5) is the runtime's to add
/// ([`shoal_wire::Handshake::with_dht`]), since only it knows whether a DHT node runs.
#[must_use]
pub fn our_reserved_bits() -> [u8; 8] {
    Handshake::new(InfoHash([0; 20]), PeerId([0; 20])).reserved
}

/// What a peer's handshake reserved bytes say it supports.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Capabilities {
    /// The extension protocol (BEP 10).
    pub(crate) extensions: bool,
    /// The fast extension (BEP 6).
    pub(crate) fast: bool,
    /// A DHT node that wants our PORT (BEP 5).
    pub(crate) dht: bool,
}

impl Capabilities {
    pub(crate) fn of(reserved: [u8; 8]) -> Capabilities {
        let hs = Handshake {
            reserved,
            ..Handshake::new(InfoHash([0; 20]), PeerId([0; 20]))
        };
        Capabilities {
            extensions: hs.supports_extensions(),
            fast: hs.supports_fast(),
            dht: hs.supports_dht(),
        }
    }
}
