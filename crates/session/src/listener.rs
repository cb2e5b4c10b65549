//! The accept loop: reads each incoming connection's handshake (bounded in time and in how
//! many may be pending at once) and hands the connection to the driver of the torrent it
//! names. Connections for unknown torrents are closed. TCP and uTP connections are
//! accepted alike ([`Accepting`]); after the accept nothing here depends on the transport.
//!
//! The first 20 bytes tell the two kinds of peer apart: `\x13BitTorrent protocol` starts a
//! plaintext handshake, anything else is taken as the start of a Message Stream Encryption
//! handshake (its first bytes are a random public key), whose receiver finds the torrent
//! among the running ones by `HASH('req2', info_hash)`. The encryption mode refuses one
//! kind or the other, with a debug log line saying why.

use crate::config::Encryption;
use crate::dual_stack;
use crate::event::DriverEvent;
use crate::peer::{self, read_handshake, Link, PeerError, PeerStream};
use crate::utp::UtpStream;
use shoal_core::InfoHash;
use shoal_wire::Handshake;
use std::collections::HashMap;
use std::net::SocketAddr;
use std::sync::{Arc, Mutex, PoisonError};
use std::time::Duration;
use tokio::io::AsyncReadExt;
use tokio::net::TcpListener;
use tokio::sync::{mpsc, Semaphore};
use tokio::time::timeout;
use tracing::{debug, info_span, warn, Instrument};

/// Input channels of the running torrents, by info-hash. Only routing lives here; each
/// engine stays private to its driver.
#[derive(Clone, Default)]
pub(crate) struct Registry {
    drivers: Arc<Mutex<HashMap<InfoHash, mpsc::Sender<DriverEvent>>>>,
}

impl Registry {
    /// Registers a driver; false if the info-hash is already taken.
    pub(crate) fn insert(&self, info_hash: InfoHash, tx: mpsc::Sender<DriverEvent>) -> bool {
        let mut drivers = self.drivers.lock().unwrap_or_else(PoisonError::into_inner);
        if drivers.get(&info_hash).is_some_and(|tx| !tx.is_closed()) {
            return false;
        }
        drivers.insert(info_hash, tx);
        true
    }

    /// Unregisters a stopping driver, unless a newer driver already took its place.
    pub(crate) fn remove_if_same(&self, info_hash: &InfoHash, tx: &mpsc::Sender<DriverEvent>) {
        let mut drivers = self.drivers.lock().unwrap_or_else(PoisonError::into_inner);
        if drivers.get(info_hash).is_some_and(|t| t.same_channel(tx)) {
            drivers.remove(info_hash);
        }
    }

    pub(crate) fn get(&self, info_hash: &InfoHash) -> Option<mpsc::Sender<DriverEvent>> {
        self.drivers
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .get(info_hash)
            .cloned()
    }

    /// The running torrent whose `HASH('req2', info_hash)` is `req2` (MSE's way of naming
    /// a torrent without showing its info-hash). One SHA-1 per torrent, once per encrypted
    /// connection.
    pub(crate) fn find_req2(&self, req2: &[u8; 20]) -> Option<InfoHash> {
        self.drivers
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .keys()
            .find(|ih| shoal_mse::req2(&ih.0) == *req2)
            .copied()
    }

    pub(crate) fn all(&self) -> Vec<mpsc::Sender<DriverEvent>> {
        self.drivers
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .values()
            .cloned()
            .collect()
    }
}

/// Where connections come from: the TCP listener, the uTP socket's accepted connections,
/// or both.
pub(crate) struct Accepting {
    pub tcp: Option<TcpListener>,
    pub utp: Option<mpsc::Receiver<(UtpStream, SocketAddr)>>,
}

impl Accepting {
    /// The next connection of either transport.
    async fn next(&mut self) -> (PeerStream, SocketAddr) {
        loop {
            let tcp = async {
                match &self.tcp {
                    Some(listener) => listener.accept().await,
                    None => std::future::pending().await,
                }
            };
            let utp = async {
                match &mut self.utp {
                    Some(incoming) => incoming.recv().await,
                    None => std::future::pending().await,
                }
            };
            tokio::select! {
                accepted = tcp => match accepted {
                    Ok((stream, addr)) => {
                        return (PeerStream::Tcp(stream), dual_stack::canonical(addr))
                    }
                    Err(e) => {
                        // Typically out of file descriptors: back off instead of spinning.
                        warn!("accept failed: {e}");
                        tokio::time::sleep(Duration::from_millis(100)).await;
                    }
                },
                accepted = utp => match accepted {
                    Some((stream, addr)) => return (PeerStream::Utp(stream), addr),
                    // The uTP socket stopped: go on with TCP alone.
                    None => self.utp = None,
                },
            }
        }
    }
}

/// Accepts until the task is aborted. A connection whose handshake names a running torrent
/// takes a slot of `budget` (the session's connection limit) or is closed.
pub(crate) async fn run(
    mut accepting: Accepting,
    registry: Registry,
    handshake_timeout: Duration,
    encryption: Encryption,
    max_pending: usize,
    budget: Arc<Semaphore>,
) {
    let pending = Arc::new(Semaphore::new(max_pending.max(1)));
    loop {
        let (stream, addr) = accepting.next().await;
        let Ok(permit) = pending.clone().try_acquire_owned() else {
            debug!(%addr, "too many pending handshakes, dropping connection");
            continue;
        };
        let registry = registry.clone();
        let budget = budget.clone();
        let span = info_span!("incoming", %addr, transport = ?stream.transport());
        tokio::spawn(
            async move {
                let handshakes = handshakes(stream, &registry, encryption);
                let (link, theirs) = match timeout(handshake_timeout, handshakes).await {
                    Ok(Ok(Some(done))) => done,
                    Ok(Ok(None)) => return,
                    Ok(Err(e)) => return debug!("bad handshake: {e}"),
                    Err(_) => return debug!("handshake timed out"),
                };
                drop(permit);
                let Some(driver) = registry.get(&theirs.info_hash) else {
                    return debug!(info_hash = %theirs.info_hash, "unknown torrent");
                };
                let Ok(slot) = budget.try_acquire_owned() else {
                    return debug!("session connection limit reached, refusing");
                };
                let event = DriverEvent::Inbound {
                    link: Box::new(link),
                    addr,
                    handshake: theirs,
                    slot,
                };
                let _ = driver.send(event).await;
            }
            .instrument(span),
        );
    }
}

/// Reads the peer's handshakes, the encrypted one first if it starts with one. `None` when
/// the encryption mode refuses the peer (logged here).
async fn handshakes(
    mut stream: PeerStream,
    registry: &Registry,
    encryption: Encryption,
) -> Result<Option<(Link<PeerStream>, Handshake)>, PeerError> {
    // Both kinds send at least 20 bytes before waiting for us: 68 of handshake, or 96 of
    // public key.
    let mut first = [0u8; 20];
    stream.read_exact(&mut first).await?;
    let plaintext = shoal_mse::is_plaintext_handshake(&first) == Some(true);
    let mut skey = None;
    let mut link = if plaintext {
        if encryption == Encryption::Require {
            debug!("refusing plaintext peer: encryption is required (--encryption require)");
            return Ok(None);
        }
        let mut link = Link::plain(stream);
        link.pending.extend_from_slice(&first);
        link
    } else {
        let Some(policy) = peer::policy(encryption) else {
            debug!("refusing encrypted peer: encryption is off (--encryption off)");
            return Ok(None);
        };
        let registry = registry.clone();
        let lookup = Box::new(move |req2: &[u8; 20]| registry.find_req2(req2).map(|ih| ih.0));
        let outcome = peer::respond(&mut stream, &first, policy, lookup).await?;
        debug!(method = ?outcome.method, "encryption handshake done");
        skey = Some(InfoHash(outcome.skey));
        Link::after_mse(stream, outcome)
    };
    let theirs = read_handshake(&mut link).await?;
    // An encrypted peer named its torrent twice; both must agree.
    if skey.is_some_and(|skey| skey != theirs.info_hash) {
        return Err(PeerError::WrongTorrent);
    }
    Ok(Some((link, theirs)))
}
