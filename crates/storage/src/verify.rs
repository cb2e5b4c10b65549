//! Checking which pieces of data already in storage match the torrent's hashes (resuming a
//! download, or seeding files the user already has).

use crate::Storage;
use sha1::{Digest, Sha1};
use shoal_core::{Bitfield, Info, PieceIndex};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Mutex, PoisonError};
use std::thread;

/// Pieces are read in chunks of this size, so memory stays bounded whatever the piece length.
const READ_CHUNK: u32 = 1024 * 1024;

/// Returns the pieces whose stored data matches their hash, hashing with `threads` threads
/// (0 = one per core). Pieces whose files are missing or too short count as absent without
/// being read; read errors also count as absent. `progress(checked, total)` is called once
/// per piece, in increasing order of `checked`, from the worker threads.
pub fn verify_existing(
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
                        if piece_matches(storage, info, piece, &mut buf) {
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

fn piece_matches(storage: &dyn Storage, info: &Info, piece: PieceIndex, buf: &mut [u8]) -> bool {
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
