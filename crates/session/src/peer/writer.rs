//! The sending half of a connection: drains the driver's bounded queue, batching small
//! messages into one reused buffer. Blocks go out as vectored writes of 13-byte headers and
//! payloads, never copied; consecutive block reads are done together on one blocking thread.
//!
//! On an RC4 stream the same buffers are encrypted in place just before they are written
//! (the batch, the headers, the blocks in the reused read buffer), in the order they go out,
//! so encryption adds no copy and no allocation; the only copy is of a block that arrives as
//! a shared `Piece` message, which joins the batch. Plaintext takes no branch but the
//! `Option` check.

use super::PeerError;
use crate::disk::SharedStorage;
use crate::event::{BlocksSent, DriverEvent, Outgoing};
use crate::TorrentError;
use bytes::BytesMut;
use shoal_core::BlockRef;
use shoal_engine::PeerKey;
use shoal_mse::Rc4;
use shoal_wire::Message;
use std::io::{self, IoSlice};
use std::time::Duration;
use tokio::io::{AsyncWrite, AsyncWriteExt};
use tokio::sync::mpsc;
use tokio::time::timeout;

/// Flush the batch buffer once it holds this much.
const BATCH_BYTES: usize = 64 * 1024;
/// Most queued block reads served by one trip to a blocking thread.
const MAX_READ_BATCH: usize = 32;
/// A peer that accepts no bytes for this long is dead or hostile.
const WRITE_TIMEOUT: Duration = Duration::from_secs(60);

/// A block read from storage, ready to send.
struct ReadBlock {
    block: BlockRef,
    offset: u64,
}

/// Runs until the driver drops the queue (then flushes what is queued and closes) or a
/// write fails.
pub(crate) async fn run<W: AsyncWrite + Unpin>(
    mut wr: W,
    mut cipher: Option<Rc4>,
    key: PeerKey,
    outgoing: &mut mpsc::Receiver<Outgoing>,
    events: &mpsc::Sender<DriverEvent>,
    sent: &mpsc::UnboundedSender<BlocksSent>,
) -> Result<(), PeerError> {
    let mut batch = BytesMut::with_capacity(BATCH_BYTES);
    // Blocks read from storage for this peer; kept and reused from batch to batch.
    let mut scratch = Vec::new();
    // An item taken off the queue while collecting block reads, handled next.
    let mut carried: Option<Outgoing> = None;
    loop {
        let item = match carried.take() {
            Some(item) => item,
            None => match outgoing.recv().await {
                Some(item) => item,
                None => break,
            },
        };
        match item {
            // Shared bytes cannot be encrypted in place: an RC4 stream copies them into the
            // batch like any other message.
            Outgoing::Message(Message::Piece { index, begin, data }) if cipher.is_none() => {
                flush(&mut wr, &mut batch, &mut cipher).await?;
                let header = Message::piece_header(index, begin, len_u32(&data)?);
                write_all(&mut wr, &mut [IoSlice::new(&header), IoSlice::new(&data)]).await?;
            }
            Outgoing::Message(msg) => msg.encode(&mut batch),
            Outgoing::Block {
                block,
                offset,
                storage,
            } => {
                let mut reads = vec![ReadBlock { block, offset }];
                while reads.len() < MAX_READ_BATCH {
                    match outgoing.try_recv() {
                        Ok(Outgoing::Block { block, offset, .. }) => {
                            reads.push(ReadBlock { block, offset })
                        }
                        Ok(other) => {
                            carried = Some(other);
                            break;
                        }
                        Err(_) => break,
                    }
                }
                flush(&mut wr, &mut batch, &mut cipher).await?;
                let reads = BlockReads {
                    storage,
                    reads,
                    key,
                };
                send_blocks(&mut wr, reads, &mut scratch, &mut cipher, events, sent).await?;
            }
        }
        if carried.is_none() && batch.len() < BATCH_BYTES {
            if let Ok(item) = outgoing.try_recv() {
                carried = Some(item);
                continue;
            }
        }
        flush(&mut wr, &mut batch, &mut cipher).await?;
    }
    flush(&mut wr, &mut batch, &mut cipher).await?;
    // The driver dropped the queue: everything queued is sent, close our side politely.
    let _ = timeout(WRITE_TIMEOUT, wr.shutdown()).await;
    Ok(())
}

/// Blocks for one peer to read from one torrent's storage.
struct BlockReads {
    storage: SharedStorage,
    reads: Vec<ReadBlock>,
    key: PeerKey,
}

/// Reads the blocks on a blocking thread into the connection's reused `scratch` buffer,
/// sends them in one vectored write (encrypted in place first on an RC4 stream), and reports
/// them to the driver in one event for upload accounting.
async fn send_blocks<W: AsyncWrite + Unpin>(
    wr: &mut W,
    BlockReads {
        storage,
        reads,
        key,
    }: BlockReads,
    scratch: &mut Vec<u8>,
    cipher: &mut Option<Rc4>,
    events: &mpsc::Sender<DriverEvent>,
    sent: &mpsc::UnboundedSender<BlocksSent>,
) -> Result<(), PeerError> {
    let ranges: Vec<(u64, u32)> = reads.iter().map(|r| (r.offset, r.block.len)).collect();
    let mut buf = std::mem::take(scratch);
    let read = tokio::task::spawn_blocking(move || {
        let result = shoal_storage::read_blocks(storage.as_ref(), &ranges, &mut buf);
        (buf, result)
    })
    .await;
    let result = match read {
        Ok((buf, result)) => {
            *scratch = buf;
            result.map_err(TorrentError::from)
        }
        Err(_) => Err(TorrentError::Panicked { job: "block read" }),
    };
    if let Err(e) = result {
        let _ = events.send(DriverEvent::ReadFailed(e)).await;
        return Err(PeerError::DriverGone);
    }
    let mut headers: Vec<[u8; 13]> = reads
        .iter()
        .map(|r| Message::piece_header(r.block.piece.get(), r.block.offset, r.block.len))
        .collect();
    if let Some(cipher) = cipher {
        // The keystream runs in the order the bytes go out: header, block, header, ...
        let mut at = 0;
        for (header, r) in headers.iter_mut().zip(&reads) {
            let len = r.block.len as usize;
            let data = scratch
                .get_mut(at..at + len)
                .ok_or_else(|| PeerError::Io(io::Error::other("block read came back short")))?;
            cipher.apply(header);
            cipher.apply(data);
            at += len;
        }
    }
    let mut slices: Vec<IoSlice<'_>> = Vec::with_capacity(reads.len() * 2);
    let mut at = 0;
    for (header, r) in headers.iter().zip(&reads) {
        let len = r.block.len as usize;
        let data = scratch
            .get(at..at + len)
            .ok_or_else(|| PeerError::Io(io::Error::other("block read came back short")))?;
        slices.push(IoSlice::new(header));
        slices.push(IoSlice::new(data));
        at += len;
    }
    write_all(wr, &mut slices).await?;
    let report = BlocksSent {
        key,
        lens: reads.iter().map(|r| r.block.len).collect(),
    };
    sent.send(report).map_err(|_| PeerError::DriverGone)
}

fn len_u32(data: &[u8]) -> Result<u32, PeerError> {
    u32::try_from(data.len()).map_err(|_| PeerError::Io(io::Error::other("block too large")))
}

async fn flush<W: AsyncWrite + Unpin>(
    wr: &mut W,
    batch: &mut BytesMut,
    cipher: &mut Option<Rc4>,
) -> Result<(), PeerError> {
    if !batch.is_empty() {
        if let Some(cipher) = cipher {
            cipher.apply(batch);
        }
        timeout(WRITE_TIMEOUT, wr.write_all(batch))
            .await
            .map_err(|_| PeerError::Timeout)??;
        batch.clear();
    }
    Ok(())
}

/// `write_all` over several slices with vectored writes, bounded by the write time-out.
async fn write_all<W: AsyncWrite + Unpin>(
    wr: &mut W,
    mut slices: &mut [IoSlice<'_>],
) -> Result<(), PeerError> {
    let write = async {
        while !slices.is_empty() {
            let n = wr.write_vectored(slices).await?;
            if n == 0 {
                return Err(io::Error::from(io::ErrorKind::WriteZero));
            }
            IoSlice::advance_slices(&mut slices, n);
        }
        Ok(())
    };
    timeout(WRITE_TIMEOUT, write)
        .await
        .map_err(|_| PeerError::Timeout)??;
    Ok(())
}
