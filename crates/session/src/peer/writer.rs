//! The sending half of a connection: drains the driver's bounded queue, batching small
//! messages into one reused buffer and sending blocks as a vectored write of a 13-byte
//! header plus the payload, without copying the payload.

use super::PeerError;
use crate::disk;
use crate::event::{DriverEvent, Outgoing};
use bytes::BytesMut;
use shoal_engine::PeerKey;
use shoal_wire::Message;
use std::io::{self, IoSlice};
use std::time::Duration;
use tokio::io::AsyncWriteExt;
use tokio::net::tcp::OwnedWriteHalf;
use tokio::sync::mpsc;
use tokio::time::timeout;

/// Flush the batch buffer once it holds this much.
const BATCH_BYTES: usize = 64 * 1024;
/// A peer that accepts no bytes for this long is dead or hostile.
const WRITE_TIMEOUT: Duration = Duration::from_secs(60);

/// Runs until the driver drops the queue (then flushes what is queued and closes) or a
/// write fails.
pub(crate) async fn run(
    mut wr: OwnedWriteHalf,
    key: PeerKey,
    outgoing: &mut mpsc::Receiver<Outgoing>,
    events: &mpsc::Sender<DriverEvent>,
) -> Result<(), PeerError> {
    let mut batch = BytesMut::with_capacity(BATCH_BYTES);
    while let Some(first) = outgoing.recv().await {
        let mut next = Some(first);
        while let Some(item) = next.take() {
            match item {
                Outgoing::Message(Message::Piece { index, begin, data }) => {
                    flush(&mut wr, &mut batch).await?;
                    write_piece(&mut wr, index, begin, &data).await?;
                }
                Outgoing::Message(msg) => msg.encode(&mut batch),
                Outgoing::Block {
                    block,
                    offset,
                    storage,
                } => {
                    flush(&mut wr, &mut batch).await?;
                    let read = tokio::task::spawn_blocking(move || {
                        disk::read_block(storage.as_ref(), offset, block.len)
                    })
                    .await
                    .unwrap_or_else(|e| Err(format!("block read task failed: {e}")));
                    let data = match read {
                        Ok(data) => data,
                        Err(e) => {
                            let _ = events.send(DriverEvent::ReadFailed(e)).await;
                            return Err(PeerError::DriverGone);
                        }
                    };
                    write_piece(&mut wr, block.piece.get(), block.offset, &data).await?;
                    if events
                        .send(DriverEvent::BlockSent {
                            key,
                            bytes: block.len,
                        })
                        .await
                        .is_err()
                    {
                        return Err(PeerError::DriverGone);
                    }
                }
            }
            if batch.len() < BATCH_BYTES {
                next = outgoing.try_recv().ok();
            }
        }
        flush(&mut wr, &mut batch).await?;
    }
    // The driver dropped the queue: everything queued is sent, close our side politely.
    let _ = timeout(WRITE_TIMEOUT, wr.shutdown()).await;
    Ok(())
}

async fn flush(wr: &mut OwnedWriteHalf, batch: &mut BytesMut) -> Result<(), PeerError> {
    if !batch.is_empty() {
        timeout(WRITE_TIMEOUT, wr.write_all(batch))
            .await
            .map_err(|_| PeerError::Timeout)??;
        batch.clear();
    }
    Ok(())
}

async fn write_piece(
    wr: &mut OwnedWriteHalf,
    index: u32,
    begin: u32,
    data: &[u8],
) -> Result<(), PeerError> {
    let len = u32::try_from(data.len()).map_err(|_| io::Error::other("block too large"))?;
    let header = Message::piece_header(index, begin, len);
    timeout(WRITE_TIMEOUT, write_two(wr, &header, data))
        .await
        .map_err(|_| PeerError::Timeout)??;
    Ok(())
}

/// `write_all` for two slices using vectored writes.
async fn write_two(wr: &mut OwnedWriteHalf, head: &[u8], tail: &[u8]) -> io::Result<()> {
    let mut written = 0;
    let total = head.len() + tail.len();
    while written < total {
        let n = match head.get(written..) {
            Some(rest) if !rest.is_empty() => {
                wr.write_vectored(&[IoSlice::new(rest), IoSlice::new(tail)])
                    .await?
            }
            _ => {
                wr.write(tail.get(written - head.len()..).unwrap_or_default())
                    .await?
            }
        };
        if n == 0 {
            return Err(io::ErrorKind::WriteZero.into());
        }
        written += n;
    }
    Ok(())
}
