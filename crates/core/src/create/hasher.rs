//! Hashing a torrent's pieces on several threads with bounded memory.
//!
//! The pieces are cut into one contiguous range per thread. Each thread opens its own file
//! handles and reads with positioned reads in chunks of at most [`CHUNK_BYTES`], feeding
//! SHA-1 as it goes, so memory stays at one chunk per thread whatever the piece length, and
//! pieces may span any number of files.

use super::CreateError;
use crate::metainfo::file_slices;
use crate::{FileEntry, Lengths};
use sha1::Digest;
use std::fs::File;
use std::os::unix::fs::FileExt;
use std::path::PathBuf;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::Mutex;

/// Largest read issued at once.
const CHUNK_BYTES: usize = 1024 * 1024;

/// What the threads share: the file layout, and progress and abort signals.
pub(super) struct Job<'a> {
    /// Files laid end to end (offsets set), in torrent order.
    pub files: &'a [FileEntry],
    /// Where each entry of `files` lives on disk.
    pub disk_paths: &'a [PathBuf],
    pub lengths: Lengths,
    pub progress: &'a (dyn Fn(u64, u64) + Sync),
}

struct Shared<'a> {
    job: &'a Job<'a>,
    hashed: AtomicU64,
    /// Serialises progress calls so the reported count never goes backwards.
    report: Mutex<()>,
    /// Set when a thread fails, so the others stop early.
    failed: AtomicBool,
}

/// SHA-1 of every piece, in order, using `threads` threads (at least one).
pub(super) fn hash_pieces(job: &Job<'_>, threads: usize) -> Result<Vec<[u8; 20]>, CreateError> {
    let num_pieces = job.lengths.num_pieces();
    let threads = threads.clamp(1, num_pieces.max(1) as usize) as u32;
    let per_thread = num_pieces.div_ceil(threads);
    let shared = Shared {
        job,
        hashed: AtomicU64::new(0),
        report: Mutex::new(()),
        failed: AtomicBool::new(false),
    };
    (job.progress)(0, job.lengths.total());
    let results: Vec<_> = std::thread::scope(|scope| {
        let handles: Vec<_> = (0..threads)
            .map(|t| {
                let start = t * per_thread;
                let end = start.saturating_add(per_thread).min(num_pieces);
                let shared = &shared;
                scope.spawn(move || hash_range(shared, start..end))
            })
            .collect();
        handles
            .into_iter()
            .map(|h| {
                h.join()
                    .unwrap_or_else(|panic| std::panic::resume_unwind(panic))
            })
            .collect()
    });
    let mut pieces = Vec::with_capacity(num_pieces as usize);
    for range in results {
        pieces.extend(range?);
    }
    Ok(pieces)
}

fn hash_range(
    shared: &Shared<'_>,
    range: std::ops::Range<u32>,
) -> Result<Vec<[u8; 20]>, CreateError> {
    let result = hash_range_inner(shared, range);
    if result.is_err() {
        shared.failed.store(true, Ordering::Relaxed);
    }
    result
}

fn hash_range_inner(
    shared: &Shared<'_>,
    range: std::ops::Range<u32>,
) -> Result<Vec<[u8; 20]>, CreateError> {
    let job = shared.job;
    let mut hashes = Vec::with_capacity(range.len());
    let mut buf = vec![0u8; CHUNK_BYTES.min(job.lengths.piece_length() as usize)];
    let mut open: Option<(usize, File)> = None;
    for index in range {
        if shared.failed.load(Ordering::Relaxed) {
            break;
        }
        let Some(piece) = job.lengths.validate_piece(index) else {
            break;
        };
        let piece_len = job.lengths.piece_len(piece);
        let mut hasher = sha1::Sha1::new();
        for slice in file_slices(job.files, job.lengths.piece_offset(piece), piece_len.into()) {
            let path = job
                .disk_paths
                .get(slice.file)
                .ok_or(CreateError::Internal)?;
            let file = match open {
                Some((i, ref file)) if i == slice.file => file,
                _ => {
                    let file = File::open(path).map_err(|e| CreateError::io(path, e))?;
                    &open.insert((slice.file, file)).1
                }
            };
            let mut done = 0u64;
            while done < slice.len {
                let n = (slice.len - done).min(buf.len() as u64) as usize;
                let chunk = buf.get_mut(..n).ok_or(CreateError::Internal)?;
                file.read_exact_at(chunk, slice.offset + done)
                    .map_err(|e| match e.kind() {
                        std::io::ErrorKind::UnexpectedEof => CreateError::Changed(path.clone()),
                        _ => CreateError::io(path, e),
                    })?;
                hasher.update(&*chunk);
                done += n as u64;
            }
        }
        hashes.push(hasher.finalize().into());
        shared.hashed.fetch_add(piece_len.into(), Ordering::Relaxed);
        // Loading under the lock means each report sees at least the previous one's count.
        let _order = shared
            .report
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner());
        (job.progress)(shared.hashed.load(Ordering::Relaxed), job.lengths.total());
    }
    Ok(hashes)
}
