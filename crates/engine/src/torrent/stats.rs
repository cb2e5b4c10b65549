//! The progress snapshot the runtime shows: pieces and bytes, rates, peers by kind.

use super::Torrent;
use crate::PeerSource;
use std::collections::BTreeMap;

/// A snapshot of one torrent for progress display, from [`Torrent::stats`].
#[derive(Debug, Clone, Default)]
pub struct Stats {
    /// Verified payload bytes we have.
    pub have_bytes: u64,
    /// Payload bytes of the whole torrent (0 until the metadata is known).
    pub total_bytes: u64,
    /// Verified pieces we have.
    pub have_pieces: u32,
    /// Pieces of the whole torrent (0 until the metadata is known).
    pub total_pieces: u32,
    /// Payload bytes received since start (also those of pieces that then failed).
    pub downloaded: u64,
    /// Payload bytes sent since start.
    pub uploaded: u64,
    /// Smoothed payload download rate over all peers, bytes per second.
    pub download_rate: u64,
    /// Smoothed payload upload rate over all peers, bytes per second.
    pub upload_rate: u64,
    /// Peers connected now.
    pub connected_peers: usize,
    /// Connected peers that have every piece.
    pub connected_seeds: usize,
    /// Connected peers interested in what we have.
    pub interested_peers: usize,
    /// Interested peers we unchoke (our upload slots in use).
    pub unchoked_peers: usize,
    /// Their requests we hold: queued plus being read or sent.
    pub queued_requests: usize,
    /// Peers we know but are not connected to.
    pub known_peers: usize,
    /// Pieces that failed their hash check since start.
    pub hash_failures: u32,
    /// Peers banned for sending corrupt data.
    pub banned_peers: usize,
    /// Whether the metadata is known (always true unless fetching a magnet).
    pub has_metadata: bool,
    /// Connected peers by where we learned of them.
    pub peers_by_source: Vec<(PeerSource, usize)>,
}

impl Torrent {
    /// What the torrent looks like now: progress, rates, peers. A query: changes nothing.
    #[must_use]
    pub fn stats(&self) -> Stats {
        let mut by_source: BTreeMap<u8, (PeerSource, usize)> = BTreeMap::new();
        for p in self.peers.values() {
            let source = self.source_of(p);
            by_source.entry(source as u8).or_insert((source, 0)).1 += 1;
        }
        let (have_bytes, total_bytes, have_pieces, total_pieces) = match &self.meta {
            Some(m) => (
                m.picker.have_bytes(),
                m.info.lengths.total(),
                m.picker.have().count(),
                m.info.lengths.num_pieces(),
            ),
            None => (0, 0, 0, 0),
        };
        Stats {
            have_bytes,
            total_bytes,
            have_pieces,
            total_pieces,
            downloaded: self.downloaded,
            uploaded: self.uploaded,
            download_rate: self.peers.values().map(|p| p.download.per_second()).sum(),
            upload_rate: self.peers.values().map(|p| p.upload.per_second()).sum(),
            connected_peers: self.peers.len(),
            connected_seeds: self.peers.values().filter(|p| p.pieces.is_seed()).count(),
            interested_peers: self.peers.values().filter(|p| p.peer_interested).count(),
            unchoked_peers: self
                .peers
                .values()
                .filter(|p| p.peer_interested && !p.am_choking)
                .count(),
            queued_requests: self
                .peers
                .values()
                .map(|p| p.upload_queue.len() + p.uploads_in_flight as usize)
                .sum(),
            known_peers: self.candidates.values().filter(|c| c.is_idle()).count(),
            hash_failures: self.hash_failures,
            banned_peers: self.banned.len(),
            has_metadata: self.meta.is_some(),
            peers_by_source: by_source.into_values().collect(),
        }
    }
}
