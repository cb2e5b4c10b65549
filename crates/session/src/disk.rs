//! The driver's memory side of disk work: blocks of unfinished pieces, and finished pieces
//! queued for hashing (bounded in bytes). The disk operations themselves (re-check,
//! hash-then-write, coalesced reads) and their invariants live in `shoal_storage`; the
//! driver runs them on tokio's blocking threads.

use bytes::Bytes;
use shoal_core::{BlockRef, Info, PieceIndex};
use shoal_storage::Storage;
use std::collections::{HashMap, VecDeque};
use std::sync::Arc;

/// Storage shared between the driver, blocking jobs and peer writers.
pub(crate) type SharedStorage = Arc<dyn Storage>;

/// Received blocks of pieces that are not verified yet, indexed by block number.
#[derive(Default)]
pub(crate) struct PendingPieces {
    pieces: HashMap<PieceIndex, Vec<Option<Bytes>>>,
}

impl PendingPieces {
    /// Keeps `data` for `block`. The engine validated the block against the torrent's lengths,
    /// so the slot exists; a mismatch is ignored (the piece will then fail its hash check).
    pub(crate) fn store(&mut self, info: &Info, block: BlockRef, data: Bytes) {
        let blocks = info.lengths.blocks_in_piece(block.piece) as usize;
        let slots = self
            .pieces
            .entry(block.piece)
            .or_insert_with(|| vec![None; blocks]);
        if data.len() == block.len as usize {
            if let Some(slot) = slots.get_mut(block.block_index() as usize) {
                *slot = Some(data);
            }
        }
    }

    /// Removes and returns the blocks of `piece` (empty when none were stored).
    pub(crate) fn take(&mut self, piece: PieceIndex) -> Vec<Option<Bytes>> {
        self.pieces.remove(&piece).unwrap_or_default()
    }

    pub(crate) fn clear(&mut self) {
        self.pieces.clear();
    }

    /// Bytes held in memory, for logs.
    pub(crate) fn buffered_bytes(&self) -> usize {
        self.pieces
            .values()
            .flatten()
            .flatten()
            .map(Bytes::len)
            .sum()
    }
}

/// Finished pieces waiting for a hashing slot should not hold more than this in memory:
/// past it the driver stops taking peer messages, so TCP pushes back on the senders instead
/// of the process growing while the hashing threads are behind (a loaded machine). With a
/// piece on each hashing thread and one of 1 MiB waiting, the threads have their next
/// piece ready when they finish one; a larger bound only holds more memory (figures in
/// docs/performance.md, "Leecher memory against rqbit").
const MAX_QUEUED_BYTES: usize = 1024 * 1024;

/// A finished piece waiting to be hashed and written.
pub(crate) struct VerifyJob {
    /// The engine generation that asked (see the driver's magnet-resume restart).
    pub generation: u64,
    pub piece: PieceIndex,
    pub blocks: Vec<Option<Bytes>>,
}

/// Finished pieces waiting for a hashing slot, oldest first.
#[derive(Default)]
pub(crate) struct VerifyQueue {
    jobs: VecDeque<VerifyJob>,
    bytes: usize,
}

impl VerifyQueue {
    pub(crate) fn push(&mut self, generation: u64, piece: PieceIndex, blocks: Vec<Option<Bytes>>) {
        self.bytes += blocks.iter().flatten().map(Bytes::len).sum::<usize>();
        self.jobs.push_back(VerifyJob {
            generation,
            piece,
            blocks,
        });
    }

    pub(crate) fn pop(&mut self) -> Option<VerifyJob> {
        let job = self.jobs.pop_front()?;
        self.bytes -= job.blocks.iter().flatten().map(Bytes::len).sum::<usize>();
        Some(job)
    }

    pub(crate) fn is_empty(&self) -> bool {
        self.jobs.is_empty()
    }

    /// Enough waits that no more blocks should be taken in until some is hashed.
    pub(crate) fn is_full(&self) -> bool {
        self.bytes >= MAX_QUEUED_BYTES
    }

    pub(crate) fn clear(&mut self) {
        self.jobs.clear();
        self.bytes = 0;
    }
}
