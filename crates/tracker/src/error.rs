//! Why a tracker exchange failed; every message is one line.

/// A tracker reply or URL that cannot be used.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum TrackerError {
    /// The tracker answered with a `failure reason` (HTTP) or an error packet (UDP).
    #[error("tracker says: {0}")]
    Failure(String),
    /// An HTTP reply body that is not bencode.
    #[error("reply is not valid bencode: {0}")]
    Bencode(#[from] shoal_bencode::Error),
    /// An HTTP reply that is bencode but not a dictionary.
    #[error("reply is not a bencoded dictionary")]
    NotADict,
    /// A reply without a field it must have (named here).
    #[error("reply has no {0:?} field")]
    Missing(&'static str),
    /// A reply field of the wrong type or with an impossible value (named here).
    #[error("reply has a bad {0:?} field")]
    BadField(&'static str),
    /// A UDP packet shorter than its action's fixed header.
    #[error("reply packet is too short ({0} bytes)")]
    Short(usize),
    /// A UDP reply for another kind of request than the one we sent.
    #[error("reply is for action {got}, expected {expected}")]
    WrongAction {
        /// The BEP 15 action of the request we sent.
        expected: u32,
        /// The action the reply carries.
        got: u32,
    },
    /// A UDP tracker never answered, after every retransmit BEP 15 allows.
    #[error("no reply after {attempts} attempts")]
    Timeout {
        /// How many times the request was sent.
        attempts: u32,
    },
    /// An announce URL that is malformed or uses a scheme other than http, https or udp.
    #[error("unsupported tracker URL {0:?}")]
    BadUrl(String),
}
