//! Starting writeback of freshly written pieces on a background thread.
//!
//! Each verified piece is written to the page cache; left alone, Linux keeps it there until
//! the dirty data reaches a share of memory, so a download finished with gigabytes still in
//! memory and the final fsync waited for the disk to take them all. Asking the kernel to
//! start writing each piece right away (see [`sys::start_writeback`]) overlaps the disk with
//! the network. That request can block while the disk's queue is full, so it runs here, off
//! the threads that hash and write, and a hint that cannot be queued is simply dropped: the
//! fsync at the end still covers everything.

use crate::sys;
use std::fs::File;
use std::sync::mpsc::{sync_channel, SyncSender, TrySendError};
use std::sync::{Arc, Mutex, PoisonError};

/// Hints waiting for the thread before new ones are dropped.
const QUEUE: usize = 256;

/// A range of one file to start writing back.
struct Range {
    file: Arc<File>,
    offset: u64,
    len: u64,
}

/// The background thread's queue; the thread starts with the first hint and ends when this
/// is dropped (after finishing what is queued).
#[derive(Default)]
pub(crate) struct Writeback {
    tx: Mutex<Option<SyncSender<Range>>>,
}

impl Writeback {
    /// Queues a hint to start writing `len` bytes at `offset` of `file` to the disk. Never
    /// blocks: with the queue full (the disk is behind anyway) the hint is dropped.
    pub(crate) fn start(&self, file: Arc<File>, offset: u64, len: u64) {
        let mut tx = self.tx.lock().unwrap_or_else(PoisonError::into_inner);
        let range = Range { file, offset, len };
        let range = match tx.as_ref() {
            Some(sender) => match sender.try_send(range) {
                Ok(()) | Err(TrySendError::Full(_)) => return,
                // The thread could not be started or died: try a fresh one.
                Err(TrySendError::Disconnected(range)) => range,
            },
            None => range,
        };
        let (sender, receiver) = sync_channel::<Range>(QUEUE);
        let spawned = std::thread::Builder::new()
            .name("shoal-writeback".into())
            .spawn(move || {
                for r in receiver {
                    sys::start_writeback(&r.file, r.offset, r.len);
                }
            });
        if spawned.is_ok() {
            let _ = sender.try_send(range);
            *tx = Some(sender);
        }
    }
}
