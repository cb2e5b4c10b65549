//! Why a handshake failed. Each of these closes the connection; none is a bug on our side.

/// A failed MSE handshake.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum MseError {
    /// The peer's bytes break the protocol (a non-zero verification constant, a padding
    /// length beyond 512, a method we did not offer, a public key out of range).
    #[error("not a valid encryption handshake: {0}")]
    Garbage(&'static str),
    /// The synchronisation marker (`HASH('req1', S)` for the receiver, the encrypted
    /// verification constant for the initiator) was not within the bytes the padding allows:
    /// the peer speaks something else, or computed another secret.
    #[error("encryption handshake marker not found within {0} bytes")]
    SyncNotFound(usize),
    /// The peer asked for a torrent we do not run (its `HASH('req2', SKEY)` matches none).
    #[error("encrypted connection for a torrent we do not run")]
    UnknownSkey,
    /// The peer offers, or selected, no method we allow.
    #[error("no encryption method in common (peer: {peer:#x}, ours: {ours:#x})")]
    NoCommonMethod {
        /// The peer's `crypto_provide` or `crypto_select` bits.
        peer: u32,
        /// The methods we allow (bit 0x01 plaintext, 0x02 RC4).
        ours: u32,
    },
    /// The connection ended in the middle of the handshake, while waiting for the named part.
    #[error("connection closed during the encryption handshake (waiting for {0})")]
    Truncated(&'static str),
}
