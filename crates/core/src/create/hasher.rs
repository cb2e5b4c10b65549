//! Hashing a torrent's pieces on several threads with bounded memory.
//!
//! Threads take the next few pieces from a shared counter until none are left, so a thread
//! that the scheduler holds back (a busy machine) delays only its current pieces instead of a
//! fixed share of the file; reads still move forward through the file together, which keeps
//! the kernel's read-ahead effective. Each thread opens its own file handles and reads with
//! positioned reads in chunks of at most [`CHUNK_BYTES`], feeding SHA-1 as it goes, so memory
//! stays at one chunk per thread whatever the piece length, and pieces may span any number
//! of files.

use super::CreateError;
use crate::metainfo::file_slices;
use crate::{FileEntry, Lengths};
use sha1::Digest;
use std::fs::File;
use std::os::unix::fs::FileExt;
use std::path::PathBuf;
use std::sync::atomic::{AtomicBool, AtomicU32, AtomicU64, Ordering};
use std::sync::Mutex;

/// Largest read issued at once.
const CHUNK_BYTES: usize = 128 * 1024;

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
    /// The first piece no thread has claimed yet.
    next: AtomicU32,
    /// Pieces claimed at once.
    claim: u32,
}

/// Bytes a thread takes at once (whole pieces, at least one): small enough to keep the
/// threads evenly loaded, large enough that the shared counter is rarely touched.
const CLAIM_BYTES: u64 = 4 * 1024 * 1024;

/// SHA-1 of every piece, in order, using `threads` threads (at least one).
pub(super) fn hash_pieces(job: &Job<'_>, threads: usize) -> Result<Vec<[u8; 20]>, CreateError> {
    let num_pieces = job.lengths.num_pieces();
    let threads = threads.clamp(1, num_pieces.max(1) as usize);
    let claim = (CLAIM_BYTES / u64::from(job.lengths.piece_length())).clamp(1, 1024) as u32;
    let shared = Shared {
        job,
        hashed: AtomicU64::new(0),
        report: Mutex::new(()),
        failed: AtomicBool::new(false),
        next: AtomicU32::new(0),
        claim,
    };
    (job.progress)(0, job.lengths.total());
    let results: Vec<_> = std::thread::scope(|scope| {
        let handles: Vec<_> = (0..threads)
            .map(|_| {
                let shared = &shared;
                scope.spawn(move || hash_claimed(shared))
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
    let mut pieces = vec![[0u8; 20]; num_pieces as usize];
    let mut filled = 0usize;
    for hashed in results {
        for (index, hash) in hashed? {
            let slot = pieces
                .get_mut(index as usize)
                .ok_or(CreateError::Internal)?;
            *slot = hash;
            filled += 1;
        }
    }
    if filled != pieces.len() {
        return Err(CreateError::Internal);
    }
    Ok(pieces)
}

/// One thread: claims runs of pieces until none are left; returns each piece's hash with
/// its index.
fn hash_claimed(shared: &Shared<'_>) -> Result<Vec<(u32, [u8; 20])>, CreateError> {
    let num_pieces = shared.job.lengths.num_pieces();
    let mut hashed = Vec::new();
    let mut buf = vec![0u8; CHUNK_BYTES.min(shared.job.lengths.piece_length() as usize)];
    // The file last read from stays open across claims.
    let mut open: Option<(usize, File)> = None;
    loop {
        if shared.failed.load(Ordering::Relaxed) {
            return Ok(hashed);
        }
        let start = shared.next.fetch_add(shared.claim, Ordering::Relaxed);
        if start >= num_pieces {
            return Ok(hashed);
        }
        let end = start.saturating_add(shared.claim).min(num_pieces);
        match hash_range_inner(shared, start..end, &mut buf, &mut open) {
            Ok(hashes) => hashed.extend((start..end).zip(hashes)),
            Err(e) => {
                shared.failed.store(true, Ordering::Relaxed);
                return Err(e);
            }
        }
    }
}

fn hash_range_inner(
    shared: &Shared<'_>,
    range: std::ops::Range<u32>,
    buf: &mut [u8],
    open: &mut Option<(usize, File)>,
) -> Result<Vec<[u8; 20]>, CreateError> {
    let job = shared.job;
    let mut hashes = Vec::with_capacity(range.len());
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
                Some((i, file)) if *i == slice.file => &*file,
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
