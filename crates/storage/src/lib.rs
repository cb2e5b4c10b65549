//! Where a torrent's data lives: the [`Storage`] trait, a file-backed implementation
//! ([`FileStorage`]), an in-memory one ([`MemoryStorage`]), and every blocking operation on
//! pieces: the check of data already on disk ([`check_existing`]), hash-then-write of a
//! downloaded piece ([`verify_and_write`]) and coalesced reads for upload ([`read_blocks`]).
//! Only a piece whose SHA-1 matched is ever written, so a re-check finds exactly the
//! finished pieces; the invariants are listed in `piece_io.rs`, beside the code.
//!
//! Offsets are torrent-global: the torrent's files are seen as one concatenated byte range,
//! and storage splits reads and writes across files. Everything here is blocking std I/O
//! with `&self` methods; the session calls it from blocking threads, many at once.
//! Fault-injecting wrappers for tests live in [`faults`].
//!
//! Typical use by the session: [`FileStorage::open`] (creates nothing), then, if
//! [`FileStorage::any_file_exists`], [`check_existing`] to find pieces already on disk;
//! [`verify_and_write`] for each downloaded piece and [`read_blocks`] to serve peers;
//! [`Storage::finish`] once the download is complete (it creates zero-length files, which
//! no piece ever writes, and flushes). Failures are [`StorageError`]s, which the session
//! passes on typed (a full disk is [`StorageError::DiskFull`]).

#![warn(missing_docs, unreachable_pub)]

mod error;
pub mod faults;
mod file;
mod layout;
mod memory;
mod paths;
mod piece_io;
mod sys;
mod writeback;

pub use error::StorageError;
pub use file::FileStorage;
pub use memory::MemoryStorage;
pub use piece_io::{check_existing, read_blocks, verify_and_write};

use sha1::{Digest, Sha1};
use std::sync::Arc;

/// Positioned access to one torrent's data, shared between threads.
pub trait Storage: Send + Sync + 'static {
    /// Reads exactly `buf.len()` bytes of torrent data at `offset` (torrent-global; spans
    /// files; padding ranges read as zeros).
    fn read_at(&self, offset: u64, buf: &mut [u8]) -> Result<(), StorageError>;

    /// Writes the slices back to back starting at `offset` (typically one verified piece's
    /// blocks), splitting across files; padding ranges are skipped.
    fn write_at(&self, offset: u64, bufs: &[&[u8]]) -> Result<(), StorageError>;

    /// Makes everything written so far durable (fsyncs the files written since the last flush).
    fn flush(&self) -> Result<(), StorageError>;

    /// Cheap check that `len` bytes at `offset` could be read: false when a file is missing
    /// or too short, so verification can skip the piece without reading.
    fn available(&self, offset: u64, len: u64) -> bool {
        let _ = (offset, len);
        true
    }

    /// Called once when every piece is written and verified: creates files no piece touches
    /// (zero-length files) and flushes.
    fn finish(&self) -> Result<(), StorageError> {
        self.flush()
    }
}

impl<S: Storage + ?Sized> Storage for Arc<S> {
    fn read_at(&self, offset: u64, buf: &mut [u8]) -> Result<(), StorageError> {
        (**self).read_at(offset, buf)
    }
    fn write_at(&self, offset: u64, bufs: &[&[u8]]) -> Result<(), StorageError> {
        (**self).write_at(offset, bufs)
    }
    fn flush(&self) -> Result<(), StorageError> {
        (**self).flush()
    }
    fn available(&self, offset: u64, len: u64) -> bool {
        (**self).available(offset, len)
    }
    fn finish(&self) -> Result<(), StorageError> {
        (**self).finish()
    }
}

/// SHA-1 over the slices in order, as if they were one buffer.
pub fn sha1_of(bufs: &[&[u8]]) -> [u8; 20] {
    let mut hasher = Sha1::new();
    for b in bufs {
        hasher.update(b);
    }
    hasher.finalize().into()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sha1_of_slices_equals_sha1_of_whole() {
        // SHA-1("abc") from FIPS 180-1.
        let expected = [
            0xa9, 0x99, 0x3e, 0x36, 0x47, 0x06, 0x81, 0x6a, 0xba, 0x3e, 0x25, 0x71, 0x78, 0x50,
            0xc2, 0x6c, 0x9c, 0xd0, 0xd8, 0x9d,
        ];
        assert_eq!(sha1_of(&[b"abc"]), expected);
        assert_eq!(sha1_of(&[b"a", b"", b"bc"]), expected);
    }
}
