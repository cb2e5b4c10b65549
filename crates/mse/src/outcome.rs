//! What a finished handshake hands to the connection.

use crate::{Method, Rc4};

/// A handshake's progress after some input.
#[derive(Debug)]
pub enum Progress {
    /// Waiting for more bytes from the peer (after sending `take_output`).
    NeedMore,
    /// The handshake is over (after sending `take_output`, which may hold its last message).
    Done(Box<Outcome>),
}

/// The result of a handshake: how to carry the stream from here on.
#[derive(Debug)]
pub struct Outcome {
    /// The method the receiver selected.
    pub method: Method,
    /// The torrent's info-hash the connection is for (the receiver learns it here).
    pub skey: [u8; 20],
    /// The ciphers for the rest of the stream, `None` for plaintext.
    pub ciphers: Option<Ciphers>,
    /// The initiator's initial payload (IA), decrypted: usually its BitTorrent handshake.
    /// Always empty for the initiator.
    pub initial_payload: Vec<u8>,
    /// Stream bytes that arrived after the handshake, already decrypted: they come before
    /// anything read from the connection next.
    pub leftover: Vec<u8>,
}

/// One cipher per direction, each continuing the keystream the handshake began.
#[derive(Debug)]
pub struct Ciphers {
    /// Encrypts what we send.
    pub send: Rc4,
    /// Decrypts what we receive.
    pub recv: Rc4,
}
