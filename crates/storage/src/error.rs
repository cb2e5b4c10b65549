//! The storage layer's error type. Every message fits on one line and names the file involved,
//! so the CLI can print it as is.

use std::io;
use std::path::{Path, PathBuf};

/// Why a storage operation failed.
#[derive(Debug, thiserror::Error)]
pub enum StorageError {
    /// The file system is full or the user's quota is used up (ENOSPC / EDQUOT).
    #[error("disk full: cannot write {path}: {source}")]
    DiskFull {
        /// The file being written.
        path: PathBuf,
        /// The operating system's error (ENOSPC or EDQUOT).
        source: io::Error,
    },
    /// Any other I/O failure; `action` says what was being done ("read", "write", "create", ...).
    #[error("cannot {action} {path}: {source}")]
    Io {
        /// What was being done, as a verb: "read", "write", "create", ...
        action: &'static str,
        /// The file or folder involved.
        path: PathBuf,
        /// The operating system's error.
        source: io::Error,
    },
    /// A path component from the torrent that could escape the download folder.
    #[error("refusing unsafe file name {component:?} in torrent (would be written under {root})")]
    UnsafeComponent {
        /// The offending path component, as the torrent spells it.
        component: String,
        /// The download folder it would have been written under.
        root: PathBuf,
    },
    /// Two files of the torrent map to the same path on disk.
    #[error("torrent lists {0} more than once")]
    DuplicatePath(PathBuf),
    /// A symbolic link (or something else that is not a plain directory or file) sits where
    /// the torrent's data should go; following it could write outside the download folder.
    #[error("refusing to use {0}: it is a symbolic link or not a plain file or folder")]
    NotPlain(PathBuf),
    /// The file list does not tile the torrent's data (gaps, overlaps or a wrong total).
    #[error("torrent file list does not add up to its total length of {total} bytes")]
    Layout {
        /// The torrent's total length in bytes.
        total: u64,
    },
    /// A read or write beyond the end of the torrent's data.
    #[error("range of {len} bytes at offset {offset} is outside the torrent's {total} bytes")]
    OutOfRange {
        /// Start of the range, torrent-global.
        offset: u64,
        /// Length of the range.
        len: u64,
        /// The torrent's total length in bytes.
        total: u64,
    },
}

impl StorageError {
    /// Wraps an I/O error, recognising a full disk or exhausted quota as [`StorageError::DiskFull`].
    pub fn io(action: &'static str, path: &Path, source: io::Error) -> StorageError {
        if is_disk_full(&source) {
            StorageError::DiskFull {
                path: path.to_path_buf(),
                source,
            }
        } else {
            StorageError::Io {
                action,
                path: path.to_path_buf(),
                source,
            }
        }
    }

    /// True when the failure is a full disk or an exhausted quota.
    pub fn is_disk_full(&self) -> bool {
        matches!(self, StorageError::DiskFull { .. })
    }

    /// True when the data is simply not there yet (a file that was never created).
    pub fn is_not_found(&self) -> bool {
        matches!(self, StorageError::Io { source, .. } if source.kind() == io::ErrorKind::NotFound)
    }
}

fn is_disk_full(e: &io::Error) -> bool {
    matches!(
        e.kind(),
        io::ErrorKind::StorageFull | io::ErrorKind::QuotaExceeded
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn enospc_becomes_disk_full_with_a_one_line_message() {
        let e = StorageError::io("write", Path::new("/x/y"), io::Error::from_raw_os_error(28));
        assert!(e.is_disk_full());
        let msg = e.to_string();
        assert!(msg.starts_with("disk full: cannot write /x/y: "), "{msg}");
        assert!(!msg.contains('\n'));
    }

    #[test]
    fn other_errors_name_the_action_and_file() {
        let e = StorageError::io(
            "read",
            Path::new("/x/y"),
            io::Error::from(io::ErrorKind::NotFound),
        );
        assert!(!e.is_disk_full());
        assert!(e.is_not_found());
        assert!(e.to_string().starts_with("cannot read /x/y: "));
    }
}
