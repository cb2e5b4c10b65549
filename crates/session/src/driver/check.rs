//! Re-checking data already on disk, while still answering the driver's channel: a shutdown
//! request ends the wait at once, and peers handed in meanwhile are kept for later.

use crate::disk::SharedStorage;
use crate::event::DriverEvent;
use shoal_core::{Bitfield, Info};
use shoal_engine::PeerSource;
use std::net::SocketAddr;
use std::sync::atomic::{AtomicU32, Ordering};
use std::sync::Arc;
use std::time::Duration;
use tokio::sync::{mpsc, oneshot};

/// How a check ended.
pub(super) enum CheckOutcome {
    /// The pieces found complete.
    Done(Bitfield),
    /// A shutdown arrived first; `done` is the requester's notifier.
    Stopped(Option<oneshot::Sender<()>>),
}

/// Hashes the existing data on a blocking thread. `progress(checked, total)` is called about
/// twice a second; `AddPeers` requests received meanwhile are appended to `peers`.
pub(super) async fn check_existing(
    storage: SharedStorage,
    info: Arc<Info>,
    threads: usize,
    events: &mut mpsc::Receiver<DriverEvent>,
    peers: &mut Vec<(SocketAddr, PeerSource)>,
    mut progress: impl FnMut(u32, u32),
) -> CheckOutcome {
    let total = info.lengths.num_pieces();
    let checked = Arc::new(AtomicU32::new(0));
    let counter = checked.clone();
    let mut job = tokio::task::spawn_blocking(move || {
        let report = move |done: u32, _total: u32| counter.store(done, Ordering::Relaxed);
        shoal_storage::check_existing(storage.as_ref(), &info, threads, &report)
    });
    let mut tick = tokio::time::interval(Duration::from_millis(500));
    progress(0, total);
    loop {
        tokio::select! {
            result = &mut job => {
                // A panicking check finds nothing, so everything is downloaded again.
                return CheckOutcome::Done(result.unwrap_or_else(|_| Bitfield::new(total)));
            }
            event = events.recv() => match event {
                Some(DriverEvent::Shutdown { done }) => return CheckOutcome::Stopped(done),
                None => return CheckOutcome::Stopped(None),
                Some(DriverEvent::AddPeers { peers: more, source }) => {
                    peers.extend(more.into_iter().map(|addr| (addr, source)))
                }
                // Incoming connections are closed (their peers retry later); results of an
                // engine that was replaced by this check are stale.
                Some(_) => {}
            },
            _ = tick.tick() => progress(checked.load(Ordering::Relaxed), total),
        }
    }
}
