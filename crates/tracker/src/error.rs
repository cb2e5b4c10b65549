//! Why a tracker exchange failed; every message is one line.

/// A tracker reply or URL that cannot be used.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum TrackerError {
    /// The tracker answered with a `failure reason` (HTTP) or an error packet (UDP).
    #[error("tracker says: {0}")]
    Failure(String),
    #[error("reply is not valid bencode: {0}")]
    Bencode(#[from] shoal_bencode::Error),
    #[error("reply is not a bencoded dictionary")]
    NotADict,
    #[error("reply has no {0:?} field")]
    Missing(&'static str),
    #[error("reply has a bad {0:?} field")]
    BadField(&'static str),
    #[error("reply packet is too short ({0} bytes)")]
    Short(usize),
    #[error("reply is for action {got}, expected {expected}")]
    WrongAction { expected: u32, got: u32 },
    #[error("no reply after {attempts} attempts")]
    Timeout { attempts: u32 },
    #[error("unsupported tracker URL {0:?}")]
    BadUrl(String),
}
