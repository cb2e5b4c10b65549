//! The tokio runtime around the sans-IO engine: a [`Session`] owns one TCP listener and any
//! number of torrents, and does every socket, timer and disk operation the engines ask for.
//!
//! Shape of the data path:
//!
//! ```text
//!  listener ──(handshake read, routed by info-hash)──┐
//!                                                     v
//!  peer task (reader + writer) <──channels──> torrent driver ──> engine (shoal-engine)
//!                                                     │
//!                                 blocking threads <──┘  (hash + write pieces, read blocks)
//! ```
//!
//! * One **driver task** per torrent owns its [`shoal_engine::Torrent`]; nothing else touches
//!   it. Peer messages, disk results and user commands arrive on one channel; reports of
//!   blocks sent by the peer writers have a channel of their own, which the driver keeps
//!   reading while it leaves the first one unread because too many pieces wait for hashing
//!   (uploads need nothing from hashing). After each input, and when the engine's deadline
//!   passes, the driver drains the engine's actions.
//! * One **peer task** per connection does the handshakes (Message Stream Encryption first,
//!   as [`SessionConfig::encryption`] says, then BEP 3's), then reads messages (block
//!   payloads stay zero-copy slices of the receive buffer, decrypted in place on an RC4
//!   stream) and writes from a bounded queue.
//! * Received blocks are kept in memory until their piece verifies; only verified pieces are
//!   ever written, so re-checking the files after a crash finds exactly what was finished.
//!   The disk operations themselves live in `shoal_storage`; this crate runs them on
//!   blocking threads.
//! * A disk failure stops the torrent: its state becomes [`TorrentState::Failed`] with
//!   [`TorrentError::Disk`], which carries the typed [`StorageError`] (shared, as every
//!   handle reports it), so a caller can tell a full disk from a missing permission.
//!
//! * Port mapping ([`SessionConfig::port_mapping`]) asks the home router to forward the
//!   listen port by UPnP-IGD, PCP or NAT-PMP, renews the mapping and deletes it on
//!   [`Session::shutdown`]; [`Session::reachability`] says what it achieved.
//!
//! Logs use the spans `torrent{info_hash}` and, inside it, `peer{addr}`; port mapping logs
//! under `portmap`.
//!
//! ```no_run
//! # async fn demo(info_hash: shoal_core::InfoHash) -> std::io::Result<()> {
//! use shoal_session::{AddTorrent, Session, SessionConfig};
//!
//! let session = Session::new(SessionConfig::new("127.0.0.1:0".parse().unwrap())).await?;
//! let add = AddTorrent {
//!     peers: vec!["127.0.0.1:6881".parse().unwrap()],
//!     ..AddTorrent::new(info_hash, "downloads")
//! };
//! let handle = session.add_torrent(add).expect("added once");
//! let (info, _info_bytes) = handle.metadata().await.expect("metadata"); // fetched from peers
//! println!("downloading {}", info.name);
//! handle.wait_complete().await.expect("complete and flushed");
//! session.shutdown().await;
//! # Ok(()) }
//! ```

#![warn(missing_docs, unreachable_pub)]

mod bind;
mod config;
mod discovery;
mod disk;
mod driver;
mod dual_stack;
mod error;
mod event;
mod external_addr;
mod handle;
mod listener;
mod peer;
mod portmap;
mod rates;
mod session;
mod utp;

pub use config::{
    AddTorrent, DhtConfig, Encryption, LsdConfig, PortMapConfig, SessionConfig, Transports,
};
pub use discovery::dht::DEFAULT_BOOTSTRAP as DEFAULT_DHT_BOOTSTRAP;
pub use discovery::tracker::{scrape, TrackerFailure, TrackerState, TrackerStatus};
pub use discovery::{HttpError, UdpError};
pub use error::{SessionError, TorrentError};
pub use external_addr::ExternalAddresses;
pub use handle::{TorrentHandle, TorrentState, TorrentStats};
pub use portmap::{PortMapProtocol, PortMapProtocols, PortMapState, PortMapping, Reachability};
pub use session::Session;
/// Where a peer address came from (shown in progress and summaries).
pub use shoal_engine::PeerSource;
/// The typed cause inside [`TorrentError::Disk`].
pub use shoal_storage::StorageError;
pub use shoal_tracker::ScrapeStats;
