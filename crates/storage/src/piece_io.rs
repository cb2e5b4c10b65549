//! Every blocking operation the session performs on a torrent's pieces, in one place: the
//! check of data already on disk ([`check_existing`]), hash-then-write of a downloaded piece
//! ([`verify_and_write`]) and the coalesced reads that serve blocks to peers
//! ([`read_blocks`]). The session runs them on blocking threads; it keeps only what is about
//! memory and scheduling (blocks of unfinished pieces, the bounded queue of pieces waiting
//! to be hashed, which thread runs what).
//!
//! Invariants (each rests on the code named):
//! - Only a piece whose SHA-1 matched the torrent's hash ever reaches a file:
//!   [`verify_and_write`] hashes the whole piece before its single write, and nothing else
//!   here writes. So files never hold unverified data.
//! - Hence a re-check after a crash finds exactly the pieces that were finished: a piece
//!   whose write was cut short fails its hash in [`check_existing`] and is fetched again.
//!   Nothing else (no resume file) says which pieces are done.
//! - Nothing is read or written outside the download folder: the session's storage is a
//!   [`FileStorage`](crate::FileStorage), whose paths are checked when it is opened and whose
//!   files are opened without following symbolic links (see `paths.rs`).
//! - Uploads serve only verified data: [`read_blocks`] reads whatever is on disk, and the
//!   engine asks for blocks of pieces it has verified only.
//! - Memory stays bounded and block data is not copied: the check reads each piece in
//!   chunks of at most [`READ_CHUNK`] bytes, a piece is written from the received blocks
//!   themselves, and reads land in the caller's reused buffer.

use crate::{sha1_of, Storage, StorageError};
use bytes::Bytes;
use sha1::{Digest, Sha1};
use shoal_core::{Bitfield, Info, PieceIndex};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Mutex, PoisonError};
use std::thread;

/// Pieces are read in chunks of this size, so memory stays bounded whatever the piece length.
const READ_CHUNK: u32 = 1024 * 1024;

/// Returns the pieces whose stored data matches their hash, hashing with `threads` threads
/// (0 = one per core). Pieces whose files are missing or too short count as absent without
/// being read; read errors also count as absent (the piece is then downloaded again).
/// `progress(checked, total)` is called once per piece, in increasing order of `checked`,
/// from the worker threads.
pub fn check_existing(
    storage: &dyn Storage,
    info: &Info,
    threads: usize,
    progress: &(dyn Fn(u32, u32) + Sync),
) -> Bitfield {
    let lengths = info.lengths;
    let total = lengths.num_pieces();
    let mut verified = Bitfield::new(total);
    if total == 0 {
        return verified;
    }
    let threads = match threads {
        0 => thread::available_parallelism().map_or(1, |n| n.get()),
        n => n,
    }
    .min(total as usize);
    let next = AtomicU64::new(0);
    let checked = Mutex::new(0u32);
    let found: Vec<u32> = thread::scope(|scope| {
        let workers: Vec<_> = (0..threads)
            .map(|_| {
                scope.spawn(|| {
                    let mut buf = vec![0u8; READ_CHUNK.min(lengths.piece_length()) as usize];
                    let mut good = Vec::new();
                    while let Some(piece) = u32::try_from(next.fetch_add(1, Ordering::Relaxed))
                        .ok()
                        .and_then(|i| lengths.validate_piece(i))
                    {
                        if stored_piece_matches(storage, info, piece, &mut buf) {
                            good.push(piece.get());
                        }
                        let mut n = checked.lock().unwrap_or_else(PoisonError::into_inner);
                        *n += 1;
                        progress(*n, total);
                    }
                    good
                })
            })
            .collect();
        let mut all = Vec::new();
        for w in workers {
            match w.join() {
                Ok(good) => all.extend(good),
                // Only the caller's progress callback can panic here; pass its panic on.
                Err(panic) => std::panic::resume_unwind(panic),
            }
        }
        all
    });
    for i in found {
        verified.set(i);
    }
    verified
}

/// Whether the stored bytes of `piece` hash to the torrent's hash, read through `buf`.
fn stored_piece_matches(
    storage: &dyn Storage,
    info: &Info,
    piece: PieceIndex,
    buf: &mut [u8],
) -> bool {
    let Some(expected) = info.pieces.get(piece.get() as usize) else {
        return false;
    };
    let start = info.lengths.piece_offset(piece);
    let len = u64::from(info.lengths.piece_len(piece));
    if buf.is_empty() || !storage.available(start, len) {
        return false;
    }
    let mut hasher = Sha1::new();
    let mut done = 0u64;
    while done < len {
        let n = (len - done).min(buf.len() as u64) as usize;
        let Some(chunk) = buf.get_mut(..n) else {
            return false;
        };
        if storage.read_at(start + done, chunk).is_err() {
            return false;
        }
        hasher.update(&*chunk);
        done += n as u64;
    }
    let actual: [u8; 20] = hasher.finalize().into();
    actual == *expected
}

/// Hashes the received blocks of `piece` (in block order) and, only if they match the
/// torrent's hash, writes them in one positioned write. `Ok(true)`: verified and written;
/// `Ok(false)`: a block is missing, the length is wrong or the hash differs, and nothing
/// was written; `Err` only when the write itself failed (a full disk, say).
pub fn verify_and_write(
    storage: &dyn Storage,
    info: &Info,
    piece: PieceIndex,
    blocks: &[Option<Bytes>],
) -> Result<bool, StorageError> {
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
    storage.write_at(info.lengths.piece_offset(piece), &bufs)?;
    Ok(true)
}

/// Reads blocks for upload into `buf`, back to back in the order of `reads` (each an
/// `(offset, len)`), growing `buf` if needed. Requests for neighbouring blocks (the usual
/// case: peers ask for a piece's blocks in order) are served by one read, so a batch costs
/// a few system calls; `buf` is the connection's own and reused, so no allocation or zeroing
/// happens once it has grown to a batch's size.
pub fn read_blocks(
    storage: &dyn Storage,
    reads: &[(u64, u32)],
    buf: &mut Vec<u8>,
) -> Result<(), StorageError> {
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
        storage.read_at(start, &mut buf[at..at + len])?;
        at += len;
        rest = &rest[run..];
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::MemoryStorage;

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
        let err = read_blocks(&storage, &[(900, 100), (1000, 100)], &mut buf).unwrap_err();
        assert!(matches!(err, StorageError::OutOfRange { .. }), "{err}");
    }
}
