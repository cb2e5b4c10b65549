//! The receiving half of a connection: frames messages out of one growing buffer and forwards
//! them to the driver. Block payloads are slices of that buffer, never copied.

use super::PeerError;
use crate::event::DriverEvent;
use bytes::BytesMut;
use shoal_engine::PeerKey;
use shoal_wire::{Decoder, MAX_MESSAGE_LEN};
use tokio::io::AsyncReadExt;
use tokio::net::tcp::OwnedReadHalf;
use tokio::sync::mpsc;

/// Fresh buffer space per allocation: several blocks, so a socket read fetches many messages.
const READ_CHUNK: usize = 256 * 1024;
/// Below this much spare room, allocate a fresh chunk before reading.
const MIN_SPARE: usize = 16 * 1024;

/// Runs until the peer closes, sends garbage, or the driver goes away. Waiting on the
/// driver's bounded channel pushes back on a fast sender instead of buffering without end.
pub(crate) async fn run(
    mut rd: OwnedReadHalf,
    key: PeerKey,
    events: &mpsc::Sender<DriverEvent>,
) -> Result<(), PeerError> {
    let mut decoder = Decoder::new(MAX_MESSAGE_LEN);
    let mut buf = BytesMut::with_capacity(READ_CHUNK);
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
        if rd.read_buf(&mut buf).await? == 0 {
            return Err(PeerError::Eof);
        }
    }
}
