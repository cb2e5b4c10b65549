//! Storage wrappers that inject faults, for testing how callers cope with a full disk or a
//! slow one. They wrap any [`Storage`] and change nothing else.

use crate::{Storage, StorageError};
use std::io;
use std::path::PathBuf;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

/// Accepts writes until `budget` bytes have been written, then fails every further write with
/// [`StorageError::DiskFull`] (a write that does not fit is refused whole). Reads pass through.
pub struct FailingStorage<S> {
    inner: S,
    remaining: AtomicU64,
}

impl<S: Storage> FailingStorage<S> {
    /// Wraps `inner`, letting `budget` bytes of writes through before the disk is "full".
    pub fn new(inner: S, budget: u64) -> Self {
        FailingStorage {
            inner,
            remaining: AtomicU64::new(budget),
        }
    }

    /// The wrapped storage, to check what really reached it.
    pub fn inner(&self) -> &S {
        &self.inner
    }
}

impl<S: Storage> Storage for FailingStorage<S> {
    fn read_at(&self, offset: u64, buf: &mut [u8]) -> Result<(), StorageError> {
        self.inner.read_at(offset, buf)
    }

    fn write_at(&self, offset: u64, bufs: &[&[u8]]) -> Result<(), StorageError> {
        let len: u64 = bufs.iter().map(|b| b.len() as u64).sum();
        let took = self
            .remaining
            .fetch_update(Ordering::AcqRel, Ordering::Acquire, |left| {
                left.checked_sub(len)
            });
        if took.is_err() {
            self.remaining.store(0, Ordering::Release);
            return Err(StorageError::DiskFull {
                path: PathBuf::from("(injected fault)"),
                source: io::Error::from(io::ErrorKind::StorageFull),
            });
        }
        self.inner.write_at(offset, bufs)
    }

    fn flush(&self) -> Result<(), StorageError> {
        self.inner.flush()
    }

    fn available(&self, offset: u64, len: u64) -> bool {
        self.inner.available(offset, len)
    }

    fn finish(&self) -> Result<(), StorageError> {
        self.inner.finish()
    }
}

/// Sleeps for `delay` before every read, write and flush, like a slow disk.
pub struct SlowStorage<S> {
    inner: S,
    delay: Duration,
}

impl<S: Storage> SlowStorage<S> {
    /// Wraps `inner`, adding `delay` to each of its reads, writes and flushes.
    pub fn new(inner: S, delay: Duration) -> Self {
        SlowStorage { inner, delay }
    }

    /// The wrapped storage, to check what really reached it.
    pub fn inner(&self) -> &S {
        &self.inner
    }
}

impl<S: Storage> Storage for SlowStorage<S> {
    fn read_at(&self, offset: u64, buf: &mut [u8]) -> Result<(), StorageError> {
        std::thread::sleep(self.delay);
        self.inner.read_at(offset, buf)
    }

    fn write_at(&self, offset: u64, bufs: &[&[u8]]) -> Result<(), StorageError> {
        std::thread::sleep(self.delay);
        self.inner.write_at(offset, bufs)
    }

    fn flush(&self) -> Result<(), StorageError> {
        std::thread::sleep(self.delay);
        self.inner.flush()
    }

    fn available(&self, offset: u64, len: u64) -> bool {
        self.inner.available(offset, len)
    }

    fn finish(&self) -> Result<(), StorageError> {
        self.inner.finish()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::MemoryStorage;

    #[test]
    fn failing_storage_reports_disk_full_once_budget_is_spent() {
        let s = FailingStorage::new(MemoryStorage::new(100), 10);
        s.write_at(0, &[&[1; 6]]).unwrap();
        let err = s.write_at(6, &[&[2; 6]]).unwrap_err();
        assert!(err.is_disk_full(), "{err}");
        assert!(err.to_string().starts_with("disk full"));
        // The budget is gone: even a small write now fails, and the refused one left no trace.
        assert!(s.write_at(6, &[&[3; 1]]).is_err());
        let mut buf = [0u8; 8];
        s.read_at(0, &mut buf).unwrap();
        assert_eq!(buf, [1, 1, 1, 1, 1, 1, 0, 0]);
    }
}
