//! The driver's disk side: blocks of unfinished pieces held in memory, finished pieces
//! queued for hashing (bounded in bytes), and the blocking jobs (open + re-check,
//! hash + write, flush) run on tokio's blocking threads.
//!
//! Only a piece whose SHA-1 matched is ever written, so files on disk never hold unverified
//! data and a re-check after a crash finds exactly the finished pieces.

use bytes::Bytes;
use shoal_core::{Bitfield, BlockRef, Info, PieceIndex};
use shoal_storage::{sha1_of, verify_existing, FileStorage, Storage};
use std::collections::{HashMap, VecDeque};
use std::path::Path;
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
/// piece on each hashing thread and one of 1 MiB waiting, the threads never wait for work
/// on loopback (4 MiB here was no faster; see `DRIVER_QUEUE` in session.rs).
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

/// Blocking: hashes the blocks of `piece` and writes them if the hash matches.
/// `Ok(false)` when a block is missing or the hash differs; `Err` only for a failed write.
pub(crate) fn verify_and_write(
    storage: &dyn Storage,
    info: &Info,
    piece: PieceIndex,
    blocks: &[Option<Bytes>],
) -> Result<bool, String> {
    let Some(bufs) = blocks
        .iter()
        .map(|b| b.as_deref())
        .collect::<Option<Vec<&[u8]>>>()
    else {
        return Ok(false);
    };
    let len: usize = bufs.iter().map(|b| b.len()).sum();
    let expected = info.pieces.get(piece.get() as usize);
    if len != info.lengths.piece_len(piece) as usize || expected != Some(&sha1_of(&bufs)) {
        return Ok(false);
    }
    storage
        .write_at(info.lengths.piece_offset(piece), &bufs)
        .map_err(|e| e.to_string())?;
    Ok(true)
}

/// Blocking: reads verified blocks for upload into `buf`, back to back in the order of
/// `reads` (each an `(offset, len)`), growing `buf` if needed. Requests for neighbouring
/// blocks (the usual case: peers ask for a piece's blocks in order) are served by one read,
/// so a batch costs a few system calls; `buf` is the connection's own and reused, so no
/// allocation or zeroing happens once it has grown to a batch's size.
pub(crate) fn read_blocks(
    storage: &dyn Storage,
    reads: &[(u64, u32)],
    buf: &mut Vec<u8>,
) -> Result<(), String> {
    let total: usize = reads.iter().map(|&(_, len)| len as usize).sum();
    if buf.len() < total {
        buf.resize(total, 0);
    }
    let mut at = 0;
    let mut rest = reads;
    while let Some(&(start, first_len)) = rest.first() {
        // The longest run of requests that are back to back on disk.
        let mut end = start + u64::from(first_len);
        let mut run = 1;
        while let Some(&(offset, len)) = rest.get(run) {
            if offset != end {
                break;
            }
            end += u64::from(len);
            run += 1;
        }
        let len = (end - start) as usize;
        storage
            .read_at(start, &mut buf[at..at + len])
            .map_err(|e| e.to_string())?;
        at += len;
        rest = &rest[run..];
    }
    Ok(())
}

/// Blocking: prepares file storage for `info` under `root`.
pub(crate) fn open_storage(root: &Path, info: &Info) -> Result<SharedStorage, String> {
    let storage = FileStorage::open(root, info).map_err(|e| e.to_string())?;
    Ok(Arc::new(storage))
}

/// Blocking: hashes the data already on disk and returns the pieces that are complete.
/// `progress(checked, total)` is called as pieces are done.
pub(crate) fn check_existing(
    storage: &dyn Storage,
    info: &Info,
    threads: usize,
    progress: &(dyn Fn(u32, u32) + Sync),
) -> Bitfield {
    verify_existing(storage, info, threads, progress)
}

/// Whether any file of `info` already exists under `root` (so a magnet download that got its
/// metadata may be resuming and its data needs a re-check).
pub(crate) fn any_file_exists(root: &Path, info: &Info) -> bool {
    info.files.iter().filter(|f| !f.pad).any(|f| {
        let mut path = root.to_path_buf();
        path.extend(&f.path);
        path.symlink_metadata()
            .is_ok_and(|m| m.is_file() && m.len() > 0)
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use shoal_storage::MemoryStorage;

    #[test]
    fn coalesced_reads_lay_each_block_back_to_back_in_request_order() {
        let data: Vec<u8> = (0..100_000u32).map(|i| (i * 7 % 253) as u8).collect();
        let storage = MemoryStorage::from_vec(data.clone());
        // Two back-to-back runs, a gap, a block out of order, and a repeated block.
        let reads = [
            (0, 16_384),
            (16_384, 16_384),
            (32_768, 1_000),
            (50_000, 2_000),
            (40_000, 300),
            (40_000, 300),
        ];
        // A reused buffer that holds stale bytes and is larger than needed.
        let mut buf = vec![0xAA; 60_000];
        read_blocks(&storage, &reads, &mut buf).unwrap();
        let mut at = 0;
        for (offset, len) in reads {
            let (start, len) = (offset as usize, len as usize);
            assert_eq!(&buf[at..at + len], &data[start..start + len]);
            at += len;
        }
    }

    #[test]
    fn a_read_past_the_end_is_an_error_not_a_short_block() {
        let storage = MemoryStorage::from_vec(vec![1; 1000]);
        let mut buf = Vec::new();
        assert!(read_blocks(&storage, &[(900, 100), (1000, 100)], &mut buf).is_err());
    }
}
