//! A connection between the transport and the peer-wire code: the byte stream, the bytes
//! the handshakes already read past their end, and the RC4 ciphers when the stream is
//! encrypted.
//!
//! Nothing here is TCP-specific: a `Link` works over any `AsyncRead + AsyncWrite` stream,
//! and once the handshakes are done its parts go to the reader and writer, which take any
//! read and write halves. A second transport (uTP) plugs in by dialing or accepting its own
//! stream, wrapping it in a `Link`, and handing its halves to `super::run_halves`; the
//! handshakes, encryption, reader and writer stay as they are.

use bytes::{Buf, BytesMut};
use shoal_mse::{Ciphers, Outcome};
use std::io;
use tokio::io::{AsyncRead, AsyncReadExt, AsyncWrite, AsyncWriteExt};

/// A stream with what the handshakes learned about it.
pub(crate) struct Link<S> {
    pub stream: S,
    /// Stream bytes already read (decrypted), to be consumed before the socket's.
    pub pending: BytesMut,
    /// `Some` for an RC4 stream.
    pub ciphers: Option<Ciphers>,
}

impl<S: AsyncRead + AsyncWrite + Unpin> Link<S> {
    /// A plaintext stream with nothing read yet.
    pub(crate) fn plain(stream: S) -> Link<S> {
        Link {
            stream,
            pending: BytesMut::new(),
            ciphers: None,
        }
    }

    /// The stream after an MSE handshake: the initiator's initial payload (IA) is the first
    /// part of its stream, then what was read past the handshake.
    pub(crate) fn after_mse(stream: S, outcome: Outcome) -> Link<S> {
        let Outcome {
            ciphers,
            initial_payload,
            leftover,
            ..
        } = outcome;
        let mut pending = BytesMut::with_capacity(initial_payload.len() + leftover.len());
        pending.extend_from_slice(&initial_payload);
        pending.extend_from_slice(&leftover);
        Link {
            stream,
            pending,
            ciphers,
        }
    }

    /// Fills `out` from the pending bytes, then from the stream (decrypting).
    pub(crate) async fn read_exact(&mut self, out: &mut [u8]) -> io::Result<()> {
        let n = self.pending.len().min(out.len());
        out[..n].copy_from_slice(&self.pending[..n]);
        self.pending.advance(n);
        if n < out.len() {
            self.stream.read_exact(&mut out[n..]).await?;
            if let Some(c) = &mut self.ciphers {
                c.recv.apply(&mut out[n..]);
            }
        }
        Ok(())
    }

    /// Writes a small message of the handshake phase (encrypting a copy).
    pub(crate) async fn write_all(&mut self, data: &[u8]) -> io::Result<()> {
        match &mut self.ciphers {
            Some(c) => {
                let mut copy = data.to_vec();
                c.send.apply(&mut copy);
                self.stream.write_all(&copy).await
            }
            None => self.stream.write_all(data).await,
        }
    }
}
