//! [`FileStorage`]: torrent data in ordinary files under a download folder.
//!
//! Files are created on first write (with their parent folders) and extended with
//! `set_len`, so they are sparse until filled; existing data is never truncated. Padding files
//! (BEP 47) are never created: their bytes read as zeros and writes to them are dropped.
//! All I/O is positioned (`pread`/`pwrite`), so many threads can share one storage.
//! See [`crate::paths`] for what is guaranteed about symbolic links.

use crate::layout::Layout;
use crate::paths::{open_for_read, open_for_write, relative_path};
use crate::writeback::Writeback;
use crate::{sys, Storage, StorageError};
use shoal_core::Info;
use std::collections::{HashMap, HashSet};
use std::fs::{self, File};
use std::os::unix::fs::FileExt;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};

/// How many files stay open at once; torrents with thousands of files must not run the
/// process out of descriptors.
const MAX_OPEN_FILES: usize = 128;

/// Torrent data stored as files under a root folder.
pub struct FileStorage {
    root: PathBuf,
    layout: Layout,
    files: Vec<FileSlot>,
    open: Mutex<OpenFiles>,
    /// Folders that gained entries since the last flush; their entries must be synced too.
    dirs_to_sync: Mutex<HashSet<PathBuf>>,
    /// Starts writing written pieces to the disk in the background.
    writeback: Writeback,
}

struct FileSlot {
    rel: PathBuf,
    length: u64,
    pad: bool,
    /// Written since the last flush.
    dirty: AtomicBool,
    /// Held while writing to the file. Writes to one file are serialised by the kernel
    /// anyway (ext4 takes the inode's lock for each); a second hashing thread that reaches
    /// the file meanwhile would spin on that lock (`rwsem_spin_on_owner`), burning the core
    /// the other work needs, so it sleeps here instead (profile in docs/performance.md).
    writing: Mutex<()>,
}

#[derive(Default)]
struct OpenFiles {
    by_index: HashMap<usize, OpenFile>,
    clock: u64,
}

struct OpenFile {
    file: Arc<File>,
    writable: bool,
    last_used: u64,
}

impl OpenFiles {
    /// The open handle for file `index` if it serves the purpose (any handle to read, a
    /// writable one to write), marked as just used. Every call advances the clock.
    fn usable(&mut self, index: usize, write: bool) -> Option<Arc<File>> {
        self.clock += 1;
        let now = self.clock;
        let entry = self.by_index.get_mut(&index)?;
        if write && !entry.writable {
            return None;
        }
        entry.last_used = now;
        Some(entry.file.clone())
    }
}

impl FileStorage {
    /// Prepares storage for `info` under `root`. Nothing is created until the first write.
    /// Fails if any path component is unsafe, two files share a path, or the file list does
    /// not tile the torrent's data.
    pub fn open(root: &Path, info: &Info) -> Result<FileStorage, StorageError> {
        let layout = Layout::new(info)?;
        let mut seen = HashSet::new();
        let mut files = Vec::with_capacity(info.files.len());
        for f in &info.files {
            let rel = relative_path(root, &f.path)?;
            if !f.pad && !seen.insert(rel.clone()) {
                return Err(StorageError::DuplicatePath(root.join(rel)));
            }
            files.push(FileSlot {
                rel,
                length: f.length,
                pad: f.pad,
                dirty: AtomicBool::new(false),
                writing: Mutex::default(),
            });
        }
        Ok(FileStorage {
            root: root.to_path_buf(),
            layout,
            files,
            open: Mutex::default(),
            dirs_to_sync: Mutex::default(),
            writeback: Writeback::default(),
        })
    }

    /// The download folder.
    pub fn root(&self) -> &Path {
        &self.root
    }

    /// Full paths of the torrent's real (non-padding) files, in torrent order.
    pub fn file_paths(&self) -> Vec<PathBuf> {
        self.files
            .iter()
            .filter(|f| !f.pad)
            .map(|f| self.root.join(&f.rel))
            .collect()
    }

    /// Whether any of the torrent's files already exists with some data in it, so the data
    /// may be a resumed download's and must be checked; a fresh download skips the check
    /// (which would look for every piece's files in turn and find none). Links do not count.
    pub fn any_file_exists(&self) -> bool {
        self.files.iter().filter(|f| !f.pad).any(|f| {
            self.root
                .join(&f.rel)
                .symlink_metadata()
                .is_ok_and(|m| m.is_file() && m.len() > 0)
        })
    }

    fn path_of(&self, index: usize) -> PathBuf {
        self.files
            .get(index)
            .map(|f| self.root.join(&f.rel))
            .unwrap_or_else(|| self.root.clone())
    }

    /// The open handle for file `index`, opening (and for writing, creating and sizing) it
    /// if needed.
    fn handle(&self, index: usize, write: bool) -> Result<Arc<File>, StorageError> {
        let Some(slot) = self.files.get(index) else {
            return Err(StorageError::Layout {
                total: self.layout.total(),
            });
        };
        if let Some(file) = lock(&self.open).usable(index, write) {
            return Ok(file);
        }
        // Open without holding the lock: it may create folders and touch the disk.
        let file = if write {
            let opened = open_for_write(&self.root, &slot.rel)?;
            let path = self.root.join(&slot.rel);
            let len = opened
                .file
                .metadata()
                .map_err(|e| StorageError::io("inspect", &path, e))?
                .len();
            if len < slot.length {
                opened
                    .file
                    .set_len(slot.length)
                    .map_err(|e| StorageError::io("resize", &path, e))?;
            }
            lock(&self.dirs_to_sync).extend(opened.changed_dirs);
            opened.file
        } else {
            open_for_read(&self.root, &slot.rel)?
        };
        let file = Arc::new(file);
        let mut open = lock(&self.open);
        // Another thread may have opened it meanwhile; keep whichever handle can write.
        if let Some(file) = open.usable(index, write) {
            return Ok(file);
        }
        if !open.by_index.contains_key(&index) && open.by_index.len() >= MAX_OPEN_FILES {
            evict_least_recent(&mut open.by_index);
        }
        let last_used = open.clock;
        open.by_index.insert(
            index,
            OpenFile {
                file: file.clone(),
                writable: write,
                last_used,
            },
        );
        Ok(file)
    }

    /// Creates the files no piece ever writes (zero-length ones).
    fn create_empty_files(&self) -> Result<(), StorageError> {
        for (i, slot) in self.files.iter().enumerate() {
            if !slot.pad && slot.length == 0 {
                self.handle(i, true)?;
            }
        }
        Ok(())
    }
}

fn evict_least_recent(map: &mut HashMap<usize, OpenFile>) {
    let oldest = map.iter().min_by_key(|(_, f)| f.last_used).map(|(&i, _)| i);
    if let Some(i) = oldest {
        // Threads still using the handle keep it alive through their Arc.
        map.remove(&i);
    }
}

fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    // A panic elsewhere cannot leave these maps inconsistent, so keep going.
    m.lock().unwrap_or_else(PoisonError::into_inner)
}

impl Storage for FileStorage {
    fn read_at(&self, offset: u64, buf: &mut [u8]) -> Result<(), StorageError> {
        for seg in self.layout.segments(offset, buf.len() as u64)? {
            let start = seg.range_offset as usize;
            let Some(part) = buf.get_mut(start..start + seg.len as usize) else {
                return Err(StorageError::Layout {
                    total: self.layout.total(),
                });
            };
            if seg.pad {
                part.fill(0);
                continue;
            }
            let file = self.handle(seg.file, false)?;
            file.read_exact_at(part, seg.file_offset)
                .map_err(|e| StorageError::io("read", &self.path_of(seg.file), e))?;
        }
        Ok(())
    }

    fn write_at(&self, offset: u64, bufs: &[&[u8]]) -> Result<(), StorageError> {
        let total: u64 = bufs.iter().map(|b| b.len() as u64).sum();
        for seg in self.layout.segments(offset, total)? {
            let Some(slot) = self.files.get(seg.file) else {
                continue;
            };
            if seg.pad {
                continue;
            }
            let file = self.handle(seg.file, true)?;
            // The chunks of one segment are contiguous in the file: one vectored write.
            let chunks: Vec<&[u8]> = chunks_in(bufs, seg.range_offset, seg.len)
                .map(|(_, chunk)| chunk)
                .collect();
            let writing = lock(&slot.writing);
            sys::write_all_vectored_at(&file, &chunks, seg.file_offset)
                .map_err(|e| StorageError::io("write", &self.path_of(seg.file), e))?;
            drop(writing);
            self.writeback.start(file, seg.file_offset, seg.len);
            slot.dirty.store(true, Ordering::Release);
        }
        Ok(())
    }

    fn flush(&self) -> Result<(), StorageError> {
        for (i, slot) in self.files.iter().enumerate() {
            if !slot.dirty.swap(false, Ordering::AcqRel) {
                continue;
            }
            let synced = self.handle(i, true).and_then(|f| {
                f.sync_data()
                    .map_err(|e| StorageError::io("sync", &self.path_of(i), e))
            });
            if let Err(e) = synced {
                slot.dirty.store(true, Ordering::Release);
                return Err(e);
            }
        }
        let dirs: Vec<PathBuf> = lock(&self.dirs_to_sync).drain().collect();
        for (n, dir) in dirs.iter().enumerate() {
            let synced = File::open(dir).and_then(|d| d.sync_all());
            if let Err(e) = synced {
                lock(&self.dirs_to_sync).extend(dirs.iter().skip(n).cloned());
                return Err(StorageError::io("sync folder", dir, e));
            }
        }
        Ok(())
    }

    fn available(&self, offset: u64, len: u64) -> bool {
        let Ok(segments) = self.layout.segments(offset, len) else {
            return false;
        };
        for seg in segments.filter(|s| !s.pad) {
            let Some(slot) = self.files.get(seg.file) else {
                return false;
            };
            match fs::symlink_metadata(self.root.join(&slot.rel)) {
                Ok(m) if m.file_type().is_file() && m.len() >= seg.file_offset + seg.len => {}
                _ => return false,
            }
        }
        true
    }

    fn finish(&self) -> Result<(), StorageError> {
        self.create_empty_files()?;
        self.flush()
    }
}

/// The parts of `bufs` (taken as one concatenated range) within `len` bytes at `start`, each
/// with its position relative to `start`.
fn chunks_in<'a>(
    bufs: &'a [&'a [u8]],
    start: u64,
    len: u64,
) -> impl Iterator<Item = (u64, &'a [u8])> {
    let end = start + len;
    let mut buf_start = 0u64;
    bufs.iter().filter_map(move |b| {
        let b_start = buf_start;
        let b_end = b_start + b.len() as u64;
        buf_start = b_end;
        let from = start.max(b_start);
        let to = end.min(b_end);
        if from >= to {
            return None;
        }
        let chunk = b.get((from - b_start) as usize..(to - b_start) as usize)?;
        Some((from - start, chunk))
    })
}

#[cfg(test)]
mod tests {
    use super::chunks_in;

    #[test]
    fn chunks_follow_buffer_and_segment_boundaries() {
        let a = [1u8, 2, 3];
        let b = [4u8, 5];
        let c = [6u8, 7, 8, 9];
        let bufs: [&[u8]; 3] = [&a, &b, &c];
        let got: Vec<_> = chunks_in(&bufs, 2, 5).collect();
        assert_eq!(
            got,
            vec![(0, &[3u8][..]), (1, &[4, 5][..]), (3, &[6, 7][..])]
        );
        assert_eq!(chunks_in(&bufs, 9, 0).count(), 0);
    }
}
