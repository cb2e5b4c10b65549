//! The receiving half of a connection: frames messages out of one growing buffer and forwards
//! them to the driver. Block payloads are slices of that buffer, never copied; on an RC4
//! stream each read is decrypted in place in that same buffer.

use super::PeerError;
use crate::event::DriverEvent;
use bytes::BytesMut;
use shoal_engine::PeerKey;
use shoal_mse::Rc4;
use shoal_wire::{Decoder, MAX_MESSAGE_LEN};
use tokio::io::{AsyncRead, AsyncReadExt};
use tokio::sync::mpsc;

/// Fresh buffer space per allocation: several blocks, so a socket read fetches many messages.
const READ_CHUNK: usize = 256 * 1024;
/// Below this much spare room, allocate a fresh chunk before reading.
const MIN_SPARE: usize = 16 * 1024;

/// Runs until the peer closes, sends garbage, or the driver goes away. Waiting on the
/// driver's bounded channel pushes back on a fast sender instead of buffering without end.
/// `pending` is stream data the handshakes read already (decrypted).
pub(crate) async fn run<R: AsyncRead + Unpin>(
    mut rd: R,
    mut cipher: Option<Rc4>,
    pending: BytesMut,
    key: PeerKey,
    events: &mpsc::Sender<DriverEvent>,
) -> Result<(), PeerError> {
    let mut decoder = Decoder::new(MAX_MESSAGE_LEN);
    let mut buf = BytesMut::with_capacity(READ_CHUNK.max(pending.len()));
    buf.extend_from_slice(&pending);
    loop {
        while let Some(msg) = decoder.decode(&mut buf)? {
            if events
                .send(DriverEvent::PeerMessage { key, msg })
                .await
                .is_err()
            {
                return Err(PeerError::DriverGone);
            }
        }
        if buf.capacity() - buf.len() < MIN_SPARE {
            buf.reserve(READ_CHUNK);
        }
        let start = buf.len();
        if rd.read_buf(&mut buf).await? == 0 {
            return Err(PeerError::Eof);
        }
        if let Some(cipher) = &mut cipher {
            cipher.apply(&mut buf[start..]);
        }
    }
}
