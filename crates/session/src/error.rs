//! Errors of the session and of a single torrent; each message fits on one line.

use shoal_core::InfoHash;
use shoal_storage::StorageError;
use std::sync::Arc;

/// Why the session refused a request.
#[derive(Debug, thiserror::Error)]
pub enum SessionError {
    /// A torrent with this info-hash is already in the session.
    #[error("torrent {0} was already added")]
    Duplicate(InfoHash),
    /// The session was shut down; it takes no more requests.
    #[error("the session has shut down")]
    ShutDown,
}

/// Why a torrent stopped before it completed. Cloneable so that every handle can report it:
/// the storage error is shared, not turned into text, so a caller can still tell a full disk
/// ([`StorageError::is_disk_full`]) from a missing permission.
#[derive(Debug, Clone, thiserror::Error)]
pub enum TorrentError {
    /// Reading or writing the torrent's files failed (disk full, permissions, an unsafe
    /// name in the torrent, a link where a folder should be).
    #[error(transparent)]
    Disk(Arc<StorageError>),
    /// A blocking disk job panicked (a bug); `job` names it.
    #[error("internal error: the {job} job panicked")]
    Panicked {
        /// Which job: "piece check", "block read", "flush".
        job: &'static str,
    },
    /// The torrent or the session was stopped first.
    #[error("the torrent was stopped before it completed")]
    Stopped,
}

impl TorrentError {
    /// The storage failure behind this error, if it is one.
    pub fn storage(&self) -> Option<&StorageError> {
        match self {
            TorrentError::Disk(e) => Some(e),
            _ => None,
        }
    }
}

impl From<StorageError> for TorrentError {
    fn from(e: StorageError) -> TorrentError {
        TorrentError::Disk(Arc::new(e))
    }
}

/// Two disk errors are equal when they are the same failure (one shared error), which is
/// what comparing the states of two handles of one torrent needs.
impl PartialEq for TorrentError {
    fn eq(&self, other: &TorrentError) -> bool {
        match (self, other) {
            (TorrentError::Disk(a), TorrentError::Disk(b)) => Arc::ptr_eq(a, b),
            (TorrentError::Panicked { job: a }, TorrentError::Panicked { job: b }) => a == b,
            (TorrentError::Stopped, TorrentError::Stopped) => true,
            _ => false,
        }
    }
}

impl Eq for TorrentError {}

#[cfg(test)]
mod tests {
    use super::*;
    use std::io;
    use std::path::Path;

    #[test]
    fn a_full_disk_stays_recognisable_through_the_torrent_error() {
        let full = StorageError::io("write", Path::new("/d/f"), io::Error::from_raw_os_error(28));
        let e = TorrentError::from(full);
        let shared = e.clone();
        assert!(shared.storage().is_some_and(StorageError::is_disk_full));
        assert_eq!(e, shared);
        let msg = shared.to_string();
        assert!(msg.starts_with("disk full: cannot write /d/f: "), "{msg}");
        assert!(!msg.contains('\n'));
    }
}
