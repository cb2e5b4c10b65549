//! [`MemoryStorage`]: torrent data in one in-memory buffer, for tests and the simulator.

use crate::layout::check_range;
use crate::{Storage, StorageError};
use std::sync::{PoisonError, RwLock};

/// Torrent data held in memory. It knows nothing of files or padding: every byte written is
/// kept, and reads of bytes never written return zeros.
pub struct MemoryStorage {
    data: RwLock<Vec<u8>>,
}

impl MemoryStorage {
    /// A zero-filled buffer of `total_len` bytes. The length is the caller's, not a peer's:
    /// it is allocated at once.
    pub fn new(total_len: u64) -> Self {
        let len = usize::try_from(total_len).unwrap_or(usize::MAX);
        Self::from_vec(vec![0; len])
    }

    /// Storage already holding `data` (a complete torrent, for a seeder).
    pub fn from_vec(data: Vec<u8>) -> Self {
        MemoryStorage {
            data: RwLock::new(data),
        }
    }

    /// A copy of the current contents.
    pub fn snapshot(&self) -> Vec<u8> {
        self.data
            .read()
            .unwrap_or_else(PoisonError::into_inner)
            .clone()
    }
}

impl Storage for MemoryStorage {
    fn read_at(&self, offset: u64, buf: &mut [u8]) -> Result<(), StorageError> {
        let data = self.data.read().unwrap_or_else(PoisonError::into_inner);
        let end = check_range(offset, buf.len() as u64, data.len() as u64)?;
        // In range: check_range bounded both ends by data.len(), a usize.
        buf.copy_from_slice(&data[offset as usize..end as usize]);
        Ok(())
    }

    fn write_at(&self, offset: u64, bufs: &[&[u8]]) -> Result<(), StorageError> {
        let mut data = self.data.write().unwrap_or_else(PoisonError::into_inner);
        let total: u64 = bufs.iter().map(|b| b.len() as u64).sum();
        check_range(offset, total, data.len() as u64)?;
        let mut pos = offset as usize;
        for b in bufs {
            // In range: the whole run was checked above.
            data[pos..pos + b.len()].copy_from_slice(b);
            pos += b.len();
        }
        Ok(())
    }

    fn flush(&self) -> Result<(), StorageError> {
        Ok(())
    }
}
