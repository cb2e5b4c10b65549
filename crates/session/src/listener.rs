//! The accept loop: reads each incoming connection's handshake (bounded in time and in how
//! many may be pending at once) and hands the connection to the driver of the torrent it
//! names. Connections for unknown torrents are closed.

use crate::event::DriverEvent;
use crate::peer::read_handshake;
use shoal_core::InfoHash;
use std::collections::HashMap;
use std::sync::{Arc, Mutex, PoisonError};
use std::time::Duration;
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

    pub(crate) fn all(&self) -> Vec<mpsc::Sender<DriverEvent>> {
        self.drivers
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .values()
            .cloned()
            .collect()
    }
}

/// Accepts until the task is aborted. A connection whose handshake names a running torrent
/// takes a slot of `budget` (the session's connection limit) or is closed.
pub(crate) async fn run(
    listener: TcpListener,
    registry: Registry,
    handshake_timeout: Duration,
    max_pending: usize,
    budget: Arc<Semaphore>,
) {
    let pending = Arc::new(Semaphore::new(max_pending.max(1)));
    loop {
        let (mut stream, addr) = match listener.accept().await {
            Ok(accepted) => accepted,
            Err(e) => {
                // Typically out of file descriptors: back off instead of spinning.
                warn!("accept failed: {e}");
                tokio::time::sleep(Duration::from_millis(100)).await;
                continue;
            }
        };
        let Ok(permit) = pending.clone().try_acquire_owned() else {
            debug!(%addr, "too many pending handshakes, dropping connection");
            continue;
        };
        let registry = registry.clone();
        let budget = budget.clone();
        let span = info_span!("incoming", %addr);
        tokio::spawn(
            async move {
                let theirs = match timeout(handshake_timeout, read_handshake(&mut stream)).await {
                    Ok(Ok(hs)) => hs,
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
                    stream,
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
