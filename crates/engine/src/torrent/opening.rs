//! A connection's first messages from us: what we have, the allowed-fast pieces we offer
//! (BEP 6), the extension handshake (BEP 10), and our DHT port (BEP 5).

use super::{PeerKey, Torrent};
use shoal_wire::ext::{
    ExtHandshake, OUR_UT_HOLEPUNCH_ID, OUR_UT_METADATA_ID, OUR_UT_PEX_ID, UT_HOLEPUNCH,
    UT_METADATA, UT_PEX,
};
use shoal_wire::Message;
use std::net::IpAddr;
use std::time::Instant;

/// The IPv4 address behind `ip`, also when it is IPv4-mapped IPv6.
fn ipv4_of(ip: IpAddr) -> Option<std::net::Ipv4Addr> {
    match ip {
        IpAddr::V4(ip) => Some(ip),
        IpAddr::V6(ip) => ip.to_ipv4_mapped(),
    }
}

/// The /24 that BEP 6 derives allowed-fast sets from.
pub(super) fn ipv4_subnet(ip: IpAddr) -> Option<u32> {
    ipv4_of(ip).map(|ip| u32::from(ip) >> 8)
}

impl Torrent {
    /// The UDP port of our DHT node became known (or changed): it is sent at once, as a
    /// `PORT` message, to every connected peer that set the DHT bit, and to every later one
    /// right after our first messages (see [`Config::dht_port`](crate::Config::dht_port)).
    /// The same port again changes nothing. Produces only `Send` actions.
    pub fn handle_dht_port(&mut self, now: Instant, port: u16) {
        if self.config.dht_port == Some(port) {
            return;
        }
        self.config.dht_port = Some(port);
        let keys: Vec<PeerKey> = self.peers.keys().copied().collect();
        for key in keys {
            self.send_dht_port(now, key);
        }
    }

    /// BEP 5: a peer that set the DHT bit is told where our DHT node listens, unless the
    /// torrent is private (BEP 27) or no node runs.
    fn send_dht_port(&mut self, now: Instant, key: PeerKey) {
        let Some(port) = self.config.dht_port else {
            return;
        };
        if self.peers.get(&key).is_some_and(|p| p.dht) && !self.is_private() {
            self.send(now, key, Message::Port(port));
        }
    }

    /// Our first messages on a new connection: what we have, then the extension handshake,
    /// then our DHT port. (The bitfield must come first; BEP 5 asks for the `PORT` as soon
    /// as the handshake shows DHT support, which is right after it.)
    pub(super) fn send_opening(&mut self, now: Instant, key: PeerKey) {
        let Some(peer) = self.peers.get(&key) else {
            return;
        };
        let (fast, extensions, addr) = (peer.fast, peer.extensions, peer.addr);
        let have = self.meta.as_ref().map(|m| m.picker.have().clone());
        match have {
            Some(h) if h.is_full() && fast => self.send(now, key, Message::HaveAll),
            Some(h) if h.none() && fast => self.send(now, key, Message::HaveNone),
            Some(h) if h.none() => {}
            Some(h) => self.send(
                now,
                key,
                Message::Bitfield(bytes::Bytes::copy_from_slice(h.as_bytes())),
            ),
            None if fast => self.send(now, key, Message::HaveNone),
            None => {}
        }
        self.offer_allowed_fast(now, key);
        if extensions {
            let mut m = vec![(UT_METADATA.to_string(), OUR_UT_METADATA_ID)];
            if !self.is_private() {
                m.push((UT_PEX.to_string(), OUR_UT_PEX_ID));
            }
            if self.holepunch_enabled() {
                m.push((UT_HOLEPUNCH.to_string(), OUR_UT_HOLEPUNCH_ID));
            }
            let hs = ExtHandshake {
                m,
                client: Some(self.config.client_name.clone()),
                listen_port: self.config.listen_port,
                reqq: Some(super::upload::MAX_UPLOAD_QUEUE as u32),
                metadata_size: self.meta.as_ref().map(|m| m.info_bytes.len() as u64),
                yourip: Some(addr.ip()),
                upload_only: false,
            };
            self.send(
                now,
                key,
                Message::Extended {
                    id: 0,
                    payload: hs.encode(),
                },
            );
        }
        self.send_dht_port(now, key);
    }

    /// Sends the BEP 6 allowed-fast pieces we have to a fast-capable IPv4 peer.
    fn offer_allowed_fast(&mut self, now: Instant, key: PeerKey) {
        let (Some(meta), Some(p)) = (&self.meta, self.peers.get_mut(&key)) else {
            return;
        };
        let Some(ip) = ipv4_of(p.addr.ip()) else {
            return;
        };
        if !p.fast || meta.picker.have().none() || meta.picker.is_complete() {
            return;
        }
        // The canonical set depends only on the /24, so every peer of one subnet would fetch
        // the same pieces: offer them to one peer per subnet at a time.
        if !self.fast_subnets.insert(u32::from(ip) >> 8) {
            return;
        }
        let n = meta.info.lengths.num_pieces();
        // Never more than an eighth of the torrent, or choking would mean nothing.
        let k = crate::fast::ALLOWED_FAST_COUNT.min(n / 8);
        let set = crate::fast::allowed_fast_set(ip, &self.info_hash, n, k);
        let offered: Vec<u32> = set
            .into_iter()
            .filter(|i| meta.picker.have().get(*i))
            .collect();
        p.offered_fast = offered.iter().copied().collect();
        for i in offered {
            self.send(now, key, Message::AllowedFast(i));
        }
    }
}
