//! Peer lists in tracker replies: compact IPv4 (BEP 23), compact IPv6 (BEP 7) and the
//! original list of dictionaries (BEP 3). All of them go through one bounded collector.

use shoal_bencode::Value;
use std::collections::HashSet;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr};

/// Most peers accepted from one reply; the rest are ignored. Far more than a torrent dials.
pub const MAX_PEERS: usize = 1000;

/// Collects peers without duplicates, port 0 or unspecified addresses, up to [`MAX_PEERS`].
#[derive(Default)]
pub(crate) struct PeerCollector {
    seen: HashSet<SocketAddr>,
    peers: Vec<SocketAddr>,
}

impl PeerCollector {
    /// Adds one peer; false once full.
    pub(crate) fn push(&mut self, addr: SocketAddr) -> bool {
        if self.peers.len() >= MAX_PEERS {
            return false;
        }
        if addr.port() != 0 && !addr.ip().is_unspecified() && self.seen.insert(addr) {
            self.peers.push(addr);
        }
        true
    }

    /// 6 bytes per peer: IPv4 address then port, big-endian. A partial trailing entry is
    /// ignored.
    pub(crate) fn compact_v4(&mut self, bytes: &[u8]) {
        for c in bytes.chunks_exact(6) {
            let ip = Ipv4Addr::new(c[0], c[1], c[2], c[3]);
            if !self.push(SocketAddr::new(ip.into(), u16::from_be_bytes([c[4], c[5]]))) {
                return;
            }
        }
    }

    /// 18 bytes per peer: IPv6 address then port.
    pub(crate) fn compact_v6(&mut self, bytes: &[u8]) {
        for c in bytes.chunks_exact(18) {
            let mut ip = [0u8; 16];
            ip.copy_from_slice(&c[..16]);
            let port = u16::from_be_bytes([c[16], c[17]]);
            if !self.push(SocketAddr::new(Ipv6Addr::from(ip).into(), port)) {
                return;
            }
        }
    }

    /// BEP 3 dictionaries with `ip` (an address literal; host names are skipped, since
    /// resolving them would let a tracker make us query any name) and `port`.
    pub(crate) fn dicts(&mut self, list: &[Value<'_>]) {
        for item in list {
            let Some(d) = item.as_dict() else { continue };
            let ip = d
                .get_str(b"ip")
                .and_then(|s| s.trim_matches(['[', ']']).parse::<IpAddr>().ok());
            let port = d.get_int(b"port").and_then(|p| u16::try_from(p).ok());
            if let (Some(ip), Some(port)) = (ip, port) {
                if !self.push(SocketAddr::new(ip, port)) {
                    return;
                }
            }
        }
    }

    pub(crate) fn finish(self) -> Vec<SocketAddr> {
        self.peers
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn compact_forms_decode_and_skip_junk() {
        let mut c = PeerCollector::default();
        c.compact_v4(&[
            10, 0, 0, 1, 0x1a, 0xe1, 10, 0, 0, 1, 0x1a, 0xe1, 1, 2, 3, 4, 0, 0, 9,
        ]);
        let mut v6 = [0u8; 18];
        v6[15] = 1;
        v6[17] = 80;
        c.compact_v6(&v6);
        assert_eq!(
            c.finish(),
            vec![
                "10.0.0.1:6881".parse().unwrap(),
                "[::1]:80".parse().unwrap()
            ]
        );
    }

    #[test]
    fn collector_is_bounded() {
        let mut c = PeerCollector::default();
        let bytes: Vec<u8> = (0..(MAX_PEERS as u32 + 50))
            .flat_map(|i| {
                let mut e = i.to_be_bytes().to_vec();
                e[0] = 10;
                e.extend_from_slice(&[0, 1]);
                e
            })
            .collect();
        c.compact_v4(&bytes);
        assert_eq!(c.finish().len(), MAX_PEERS);
    }
}
