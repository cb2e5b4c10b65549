//! The driver's disk side: blocks of unfinished pieces held in memory, and the blocking jobs
//! (open + re-check, hash + write, flush) run on tokio's blocking threads.
//!
//! Only a piece whose SHA-1 matched is ever written, so files on disk never hold unverified
//! data and a re-check after a crash finds exactly the finished pieces.

use bytes::Bytes;
use shoal_core::{Bitfield, BlockRef, Info, PieceIndex};
use shoal_storage::{sha1_of, verify_existing, FileStorage, Storage};
use std::collections::HashMap;
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

/// Blocking: reads one verified block for upload.
pub(crate) fn read_block(storage: &dyn Storage, offset: u64, len: u32) -> Result<Bytes, String> {
    let mut buf = vec![0u8; len as usize];
    storage
        .read_at(offset, &mut buf)
        .map_err(|e| e.to_string())?;
    Ok(Bytes::from(buf))
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
