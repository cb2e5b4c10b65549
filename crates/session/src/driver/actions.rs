//! Carrying out the engine's actions.

use super::Driver;
use crate::event::{DriverEvent, Outgoing};
use crate::handle::TorrentState;
use crate::TorrentError;
use bytes::Bytes;
use shoal_core::{Info, PieceIndex};
use shoal_engine::{Action, PeerKey};
use shoal_storage::FileStorage;
use std::sync::Arc;
use tokio::sync::OwnedSemaphorePermit;
use tracing::{debug, info, warn};

impl Driver {
    pub(super) fn apply(&mut self, action: Action) {
        match action {
            Action::Connect { addr } => self.dial(addr),
            Action::HolepunchConnect { addr } => self.dial_holepunch(addr),
            Action::Send { peer, msg } => self.queue(peer, Outgoing::Message(msg)),
            Action::Disconnect { peer, reason } => {
                if let Some(link) = self.peers.remove(&peer) {
                    debug!(addr = %link.addr, ?reason, "disconnecting");
                }
            }
            Action::StoreBlock { block, data } => {
                if let Some(info) = &self.info {
                    self.pending.store(info, block, data);
                }
            }
            Action::VerifyPiece { piece } => self.verify(piece),
            Action::ReadBlock { peer, block } => {
                let (Some(info), Some(storage)) = (&self.info, &self.storage) else {
                    return;
                };
                let offset = info.lengths.piece_offset(block.piece) + u64::from(block.offset);
                let storage = storage.clone();
                self.queue(
                    peer,
                    Outgoing::Block {
                        block,
                        offset,
                        storage,
                    },
                );
            }
            Action::DhtNode { addr } => self.learn_dht_node(addr),
            Action::AddressReported { ip, by } => {
                let reporter = crate::external_addr::Reporter::Peer(by.ip());
                self.ctx.external.vote(ip, reporter);
            }
            Action::MetadataReady { info, info_bytes } => self.on_metadata(info, info_bytes),
            Action::Completed => self.on_completed(),
        }
    }

    /// Queues for a peer's writer; a peer whose queue is full is too slow and is dropped.
    fn queue(&mut self, key: PeerKey, item: Outgoing) {
        let Some(link) = self.peers.get(&key) else {
            return;
        };
        if link.tx.try_send(item).is_err() {
            debug!(addr = %link.addr, "send queue full or closed, dropping peer");
            self.peers.remove(&key);
            self.closed_by_us.push(key);
        }
    }

    /// Queues a finished piece for hashing; [`Driver::start_verify`] runs it once a hashing
    /// slot is free. Its blocks move out of the pending set into the queue.
    fn verify(&mut self, piece: PieceIndex) {
        let blocks = self.pending.take(piece);
        self.to_verify.push(self.generation, piece, blocks);
    }

    /// Hashes and writes the oldest queued piece on a blocking thread, holding `slot` until
    /// done; the answer comes back as [`DriverEvent::PieceVerified`].
    pub(super) fn start_verify(&mut self, slot: OwnedSemaphorePermit) {
        let Some(job) = self.to_verify.pop() else {
            return;
        };
        let events = self.chans.events_tx.clone();
        let target = self.info.clone().zip(self.storage.clone());
        tokio::spawn(async move {
            let piece = job.piece;
            let result = match target {
                Some((info, storage)) => tokio::task::spawn_blocking(move || {
                    let _slot = slot;
                    shoal_storage::verify_and_write(storage.as_ref(), &info, piece, &job.blocks)
                })
                .await
                .map_err(|_| TorrentError::Panicked { job: "piece check" })
                .and_then(|written| written.map_err(TorrentError::from)),
                None => {
                    // The slot must not wait with the answer below: while the driver's queue
                    // is full it reads nothing until a slot frees.
                    drop(slot);
                    Ok(false)
                }
            };
            let _ = events
                .send(DriverEvent::PieceVerified {
                    generation: job.generation,
                    piece,
                    result,
                })
                .await;
        });
    }

    fn on_metadata(&mut self, info: Arc<Info>, info_bytes: Bytes) {
        info!(name = %info.name, pieces = info.lengths.num_pieces(), "metadata received");
        let storage = match FileStorage::open(&self.download_dir, &info) {
            Ok(storage) => storage,
            Err(e) => return self.fail(e.into()),
        };
        if storage.any_file_exists() {
            self.resume_check = Some((info.clone(), info_bytes.clone()));
        }
        self.storage = Some(Arc::new(storage));
        self.info = Some(info.clone());
        self.chans
            .metadata_tx
            .send_replace(Some((info.clone(), info_bytes.clone())));
        self.state = TorrentState::Downloading;
        self.publish();
    }

    /// Every piece is verified: make the data durable (and create empty files) before
    /// reporting completion.
    pub(super) fn on_completed(&mut self) {
        let Some(storage) = self.storage.clone() else {
            warn!("completed without storage");
            return;
        };
        debug!(
            buffered = self.pending.buffered_bytes(),
            "all pieces verified, flushing"
        );
        let events = self.chans.events_tx.clone();
        tokio::spawn(async move {
            let result = tokio::task::spawn_blocking(move || storage.finish())
                .await
                .map_err(|_| TorrentError::Panicked { job: "flush" })
                .and_then(|flushed| flushed.map_err(TorrentError::from));
            let _ = events.send(DriverEvent::Flushed(result)).await;
        });
    }
}
