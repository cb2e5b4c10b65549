//! Handling one incoming peer-wire message. Anything that breaks the protocol closes that
//! peer (and only that peer).

use super::{PeerKey, Torrent};
use crate::metadata::DataOutcome;
use crate::peer::PeerPieces;
use crate::{Action, DisconnectReason, PeerSource};
use bytes::Bytes;
use shoal_wire::ext::{
    ExtHandshake, MetadataMsg, PexMsg, OUR_UT_HOLEPUNCH_ID, OUR_UT_METADATA_ID, OUR_UT_PEX_ID,
};
use shoal_wire::Message;
use std::net::SocketAddr;
use std::time::Instant;

/// Most allowed-fast pieces remembered per peer.
const MAX_ALLOWED_FAST: usize = 64;
/// A peer's first PEX message goes out this long after its extension handshake (then one a
/// minute, as BEP 11 asks): soon, as libtorrent does, so that a peer that joins learns the
/// swarm in seconds, not at the next round of the minute.
const FIRST_PEX_AFTER: std::time::Duration = std::time::Duration::from_secs(1);

impl Torrent {
    /// A message arrived from a connected peer, in the order the peer sent it. Anything
    /// may follow: requests and blocks to send or read, blocks to store, pieces to verify,
    /// addresses to dial (PEX), a DHT node to learn (`PORT`), or a `Disconnect` if the
    /// message broke the protocol. Messages for a key the engine does not hold are ignored.
    pub fn handle_message(&mut self, now: Instant, key: PeerKey, msg: Message) {
        let Some(peer) = self.peers.get_mut(&key) else {
            return;
        };
        peer.last_received = now;
        // The bitfield (or have-all/none) must be the first message, but many clients send
        // their extension handshake before it.
        let first = if matches!(msg, Message::Extended { .. }) {
            peer.expect_bitfield
        } else {
            std::mem::replace(&mut peer.expect_bitfield, false)
        };
        let fast = peer.fast;
        let needs_fast = matches!(
            msg,
            Message::HaveAll
                | Message::HaveNone
                | Message::Suggest(_)
                | Message::Reject(_)
                | Message::AllowedFast(_)
        );
        if needs_fast && !fast {
            return self.disconnect(
                now,
                key,
                DisconnectReason::Protocol("fast-extension message without BEP 6"),
            );
        }
        match msg {
            Message::KeepAlive => {}
            Message::Port(port) => self.on_port(key, port),
            Message::Suggest(i) => {
                let valid = self
                    .meta
                    .as_ref()
                    .is_some_and(|m| m.info.lengths.validate_piece(i).is_some());
                if let Some(p) = self.peers.get_mut(&key).filter(|_| valid) {
                    if !p.suggested.contains(&i) {
                        if p.suggested.len() >= crate::peer::MAX_SUGGESTED {
                            p.suggested.remove(0);
                        }
                        p.suggested.push(i);
                    }
                }
                self.request_more(now, key);
            }
            Message::Choke => self.on_choke(now, key),
            Message::Unchoke => {
                if let Some(p) = self.peers.get_mut(&key) {
                    p.peer_choking = false;
                    p.rejected.clear();
                }
                self.request_more(now, key);
            }
            Message::Interested => self.on_interested(now, key, true),
            Message::NotInterested => self.on_interested(now, key, false),
            Message::Have(i) => self.on_have(now, key, i),
            Message::Bitfield(bits) if first => self.set_peer_pieces(now, key, Some(bits), false),
            // aria2 sends more bitfields mid-connection to batch its haves: each is read as a
            // list of haves (BEP 3 asks for one, first, but nothing is lost by accepting more).
            Message::Bitfield(bits) => self.on_late_bitfield(now, key, bits),
            Message::HaveAll | Message::HaveNone if first => {
                self.set_peer_pieces(now, key, None, matches!(msg, Message::HaveAll))
            }
            // A peer that completes mid-connection may say so with have-all; have-none later
            // on says nothing new (pieces are never un-had).
            Message::HaveAll => self.on_late_bitfield(now, key, Bytes::new()),
            Message::HaveNone => {}
            Message::Request(b) => self.on_request(now, key, b),
            Message::Cancel(b) => self.on_cancel(now, key, b),
            Message::Piece { index, begin, data } => self.on_piece(now, key, index, begin, data),
            Message::Reject(b) => self.on_reject(now, key, b),
            Message::AllowedFast(i) => {
                let valid = self
                    .meta
                    .as_ref()
                    .is_none_or(|m| m.info.lengths.validate_piece(i).is_some());
                if let Some(p) = self.peers.get_mut(&key) {
                    if valid && p.allowed_fast.len() < MAX_ALLOWED_FAST {
                        p.allowed_fast.insert(i);
                    }
                }
                self.request_more(now, key);
            }
            Message::Extended { id, payload } => self.on_extended(now, key, id, payload),
        }
    }

    /// BEP 5: the peer names the UDP port of its DHT node, for the runtime's routing table
    /// (unless the torrent is private, BEP 27).
    fn on_port(&mut self, key: PeerKey, port: u16) {
        let Some(p) = self.peers.get(&key) else {
            return;
        };
        if port != 0 && !self.is_private() {
            let addr = SocketAddr::new(p.addr.ip(), port);
            self.actions.push_back(Action::DhtNode { addr });
        }
    }

    /// A bitfield (or, with `bits` empty, a have-all) after the first message: every piece it
    /// marks counts as a `Have`. Before the metadata is known it is merged into what the peer
    /// is remembered to have.
    fn on_late_bitfield(&mut self, now: Instant, key: PeerKey, bits: Bytes) {
        let all = bits.is_empty();
        let Some(meta) = &self.meta else {
            if let Some(p) = self.peers.get_mut(&key) {
                p.pieces.merge_unknown(bits, all);
            }
            return;
        };
        let num_pieces = meta.info.lengths.num_pieces();
        if !all && bits.len() != num_pieces.div_ceil(8) as usize {
            return self.disconnect(
                now,
                key,
                DisconnectReason::Protocol("bitfield of the wrong length"),
            );
        }
        for index in 0..num_pieces {
            let set = all || bits[(index / 8) as usize] & (0x80 >> (index % 8)) != 0;
            if set && !self.peers.contains_key(&key) {
                return;
            }
            if set {
                self.on_have(now, key, index);
            }
        }
        // Spare bits past the last piece must be clear, as in a first bitfield.
        let spare = (num_pieces..num_pieces.div_ceil(8) * 8)
            .any(|i| !all && bits[(i / 8) as usize] & (0x80 >> (i % 8)) != 0);
        if spare {
            self.disconnect(
                now,
                key,
                DisconnectReason::Protocol("bitfield sets bits past the last piece"),
            );
        }
    }

    fn set_peer_pieces(&mut self, now: Instant, key: PeerKey, bits: Option<Bytes>, all: bool) {
        if let Some(p) = self.peers.get_mut(&key) {
            p.pieces = PeerPieces::Unknown {
                bitfield: bits,
                haves: Vec::new(),
                all,
            };
        }
        self.resolve_peer_pieces(now, key);
        self.request_more(now, key);
    }

    fn on_have(&mut self, now: Instant, key: PeerKey, index: u32) {
        let Some(meta) = &mut self.meta else {
            if let Some(p) = self.peers.get_mut(&key) {
                p.pieces.remember_have(index);
            }
            return;
        };
        let Some(piece) = meta.info.lengths.validate_piece(index) else {
            return self.disconnect(
                now,
                key,
                DisconnectReason::Protocol("have for a piece that does not exist"),
            );
        };
        let Some(p) = self.peers.get_mut(&key) else {
            return;
        };
        if let PeerPieces::Unknown { .. } = p.pieces {
            p.pieces = PeerPieces::Known(shoal_core::Bitfield::new(meta.info.lengths.num_pieces()));
        }
        let PeerPieces::Known(bits) = &mut p.pieces else {
            return;
        };
        if !bits.set(index) {
            return;
        }
        meta.picker.peer_has(piece);
        let wanted = meta.picker.wants(piece);
        if !meta.picker.have().get(index) {
            p.interesting += 1;
        }
        self.update_interest(now, key);
        if self.is_complete() && self.peers.get(&key).is_some_and(|p| p.pieces.is_seed()) {
            return self.disconnect(now, key, DisconnectReason::NotUseful);
        }
        // Only a piece we still need can give this peer something new to request.
        if wanted {
            self.request_more(now, key);
        }
    }

    fn on_extended(&mut self, now: Instant, key: PeerKey, id: u8, payload: Bytes) {
        match id {
            0 => {
                let Ok(hs) = ExtHandshake::decode(&payload) else {
                    return self.disconnect(
                        now,
                        key,
                        DisconnectReason::Protocol("bad extension handshake"),
                    );
                };
                let Some(p) = self.peers.get_mut(&key) else {
                    return;
                };
                p.ut_metadata = hs.id_of(shoal_wire::ext::UT_METADATA);
                p.ut_pex = hs.id_of(shoal_wire::ext::UT_PEX);
                p.ut_holepunch = hs.id_of(shoal_wire::ext::UT_HOLEPUNCH);
                if p.ut_pex.is_some() && p.pex_due.is_none() {
                    p.pex_due = Some(now + FIRST_PEX_AFTER);
                }
                if let Some(port) = hs.listen_port {
                    p.listen_port = Some(port);
                }
                if let Some(reqq) = hs.reqq {
                    p.max_requests = (reqq as usize).clamp(1, self.config.max_requests_per_peer);
                }
                p.client = hs.client.clone();
                let by = p.addr;
                if let Some(ip) = hs.yourip {
                    self.actions.push_back(Action::AddressReported { ip, by });
                }
                if let Some(size) = hs.metadata_size {
                    if self.meta.is_none() {
                        self.fetch.offer_size(size);
                    }
                }
                if let Some(ip) = hs.yourip {
                    self.note_own_ip(ip);
                }
                self.note_listen_port(now, key);
                self.request_metadata(now, key);
            }
            OUR_UT_METADATA_ID => match MetadataMsg::decode(&payload) {
                Ok(m) => self.on_metadata_msg(now, key, m),
                // BEP 9: unknown message types must be ignored.
                Err(shoal_wire::WireError::UnknownMetadataMsgType(_)) => {}
                Err(_) => self.disconnect(
                    now,
                    key,
                    DisconnectReason::Protocol("bad ut_metadata message"),
                ),
            },
            OUR_UT_PEX_ID => {
                if self.is_private() {
                    return;
                }
                match PexMsg::decode(&payload) {
                    Ok(pex) => {
                        if self.holepunch_enabled() {
                            for (addr, flags) in pex.added.iter().zip(&pex.added_flags) {
                                self.holepunch.introduced(*addr, key, *flags);
                            }
                        }
                        self.handle_peers_found(now, &pex.added, PeerSource::Pex)
                    }
                    Err(_) => {
                        self.disconnect(now, key, DisconnectReason::Protocol("bad ut_pex message"))
                    }
                }
            }
            OUR_UT_HOLEPUNCH_ID if self.holepunch_enabled() => {
                self.on_holepunch(now, key, &payload)
            }
            // Extensions we did not announce: ignore rather than fail, some clients probe.
            _ => {}
        }
    }

    fn on_metadata_msg(&mut self, now: Instant, key: PeerKey, msg: MetadataMsg) {
        match msg {
            MetadataMsg::Request { piece } => {
                let Some(their_id) = self.peers.get(&key).and_then(|p| p.ut_metadata) else {
                    return;
                };
                let reply = match &self.meta {
                    Some(meta) => {
                        let start = piece as usize * shoal_wire::ext::METADATA_PIECE_LEN;
                        let total = meta.info_bytes.len();
                        if start < total {
                            let end = (start + shoal_wire::ext::METADATA_PIECE_LEN).min(total);
                            MetadataMsg::Data {
                                piece,
                                total_size: total as u64,
                                data: meta.info_bytes.slice(start..end),
                            }
                        } else {
                            MetadataMsg::Reject { piece }
                        }
                    }
                    None => MetadataMsg::Reject { piece },
                };
                self.send(
                    now,
                    key,
                    Message::Extended {
                        id: their_id,
                        payload: reply.encode(),
                    },
                );
            }
            MetadataMsg::Reject { piece } => {
                self.fetch.release_piece(key, piece);
                if let Some(p) = self.peers.get_mut(&key) {
                    p.metadata_requests.retain(|(i, _)| *i != piece);
                    // A peer that rejects will likely reject again; let others serve.
                    p.ut_metadata = None;
                }
            }
            MetadataMsg::Data {
                piece,
                total_size,
                data,
            } => {
                if let Some(p) = self.peers.get_mut(&key) {
                    p.metadata_requests.retain(|(i, _)| *i != piece);
                }
                if self.meta.is_some() {
                    return;
                }
                match self.fetch.on_data(key, piece, total_size, &data) {
                    DataOutcome::Ignored | DataOutcome::Stored => self.request_metadata(now, key),
                    DataOutcome::Complete(buf) => self.metadata_complete(now, buf),
                }
            }
        }
    }
}
