//! Errors of the session and of a single torrent; each message fits on one line.

use shoal_core::InfoHash;

/// Why the session refused a request.
#[derive(Debug, thiserror::Error)]
pub enum SessionError {
    #[error("torrent {0} was already added")]
    Duplicate(InfoHash),
    #[error("the session has shut down")]
    ShutDown,
}

/// Why a torrent stopped before it completed. Cloneable so that every handle can report it.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum TorrentError {
    /// Reading or writing the torrent's files failed (disk full, permissions, missing files).
    #[error("{0}")]
    Disk(String),
    /// The torrent or the session was stopped first.
    #[error("the torrent was stopped before it completed")]
    Stopped,
}
