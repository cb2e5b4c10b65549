//! Compact address formats: peers (6 bytes IPv4, 18 bytes IPv6: address then big-endian
//! port) and nodes (a 20-byte id before a peer address: 26 and 38 bytes).

use crate::id::NodeId;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr};

/// A node as `nodes`/`nodes6` carry it: its id and where it listens.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct NodeInfo {
    /// The node's id.
    pub id: NodeId,
    /// Its UDP address.
    pub addr: SocketAddr,
}

/// The address from a compact peer entry (6 or 18 bytes), `None` for any other length.
pub fn decode_peer(b: &[u8]) -> Option<SocketAddr> {
    match b.len() {
        6 => {
            let ip = Ipv4Addr::new(b[0], b[1], b[2], b[3]);
            Some(SocketAddr::new(
                IpAddr::V4(ip),
                u16::from_be_bytes([b[4], b[5]]),
            ))
        }
        18 => {
            let ip: [u8; 16] = b[..16].try_into().ok()?;
            let port = u16::from_be_bytes([b[16], b[17]]);
            Some(SocketAddr::new(IpAddr::V6(Ipv6Addr::from(ip)), port))
        }
        _ => None,
    }
}

/// Appends the compact form of `addr` (6 or 18 bytes). An IPv4-mapped IPv6 address is
/// written as IPv4, the form its owner would use.
pub fn encode_peer(addr: &SocketAddr, out: &mut Vec<u8>) {
    match canonical_ip(addr.ip()) {
        IpAddr::V4(ip) => out.extend_from_slice(&ip.octets()),
        IpAddr::V6(ip) => out.extend_from_slice(&ip.octets()),
    }
    out.extend_from_slice(&addr.port().to_be_bytes());
}

/// The compact form of `addr` in a new buffer.
pub fn peer_bytes(addr: &SocketAddr) -> Vec<u8> {
    let mut out = Vec::with_capacity(18);
    encode_peer(addr, &mut out);
    out
}

/// IPv4-mapped IPv6 addresses (a dual-stack socket's view of IPv4 peers) as plain IPv4.
pub fn canonical_ip(ip: IpAddr) -> IpAddr {
    match ip {
        IpAddr::V6(v6) => match v6.to_ipv4_mapped() {
            Some(v4) => IpAddr::V4(v4),
            None => IpAddr::V6(v6),
        },
        v4 => v4,
    }
}

/// `addr` with its IP made canonical (see [`canonical_ip`]).
pub fn canonical_addr(addr: SocketAddr) -> SocketAddr {
    SocketAddr::new(canonical_ip(addr.ip()), addr.port())
}

/// The nodes of a `nodes` (26-byte entries) or `nodes6` (38-byte entries) string, at most
/// `cap` of them; `None` when the length is not a multiple of the entry size.
pub(crate) fn decode_nodes(b: &[u8], v6: bool, cap: usize) -> Option<Vec<NodeInfo>> {
    let size = if v6 { 38 } else { 26 };
    if b.len() % size != 0 {
        return None;
    }
    let nodes = b
        .chunks_exact(size)
        .take(cap)
        .filter_map(|c| {
            Some(NodeInfo {
                id: NodeId::from_slice(&c[..20])?,
                addr: decode_peer(&c[20..])?,
            })
        })
        .collect();
    Some(nodes)
}

/// The `nodes` or `nodes6` string of these nodes (those of the other family skipped).
pub(crate) fn encode_nodes(nodes: &[NodeInfo], v6: bool) -> Vec<u8> {
    let mut out = Vec::with_capacity(nodes.len() * if v6 { 38 } else { 26 });
    for n in nodes {
        if n.addr.is_ipv6() == v6 {
            out.extend_from_slice(&n.id.0);
            encode_peer(&n.addr, &mut out);
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn peers_round_trip() {
        for s in ["1.2.3.4:6881", "[2001:db8::1]:443"] {
            let a: SocketAddr = s.parse().unwrap();
            assert_eq!(decode_peer(&peer_bytes(&a)), Some(a));
        }
        let mapped: SocketAddr = "[::ffff:10.0.0.1]:80".parse().unwrap();
        assert_eq!(peer_bytes(&mapped).len(), 6);
        assert_eq!(decode_peer(&[0; 7]), None);
    }

    #[test]
    fn nodes_round_trip_and_reject_ragged() {
        let n = NodeInfo {
            id: NodeId([3; 20]),
            addr: "[::1]:5".parse().unwrap(),
        };
        let b = encode_nodes(&[n], true);
        assert_eq!(decode_nodes(&b, true, 8), Some(vec![n]));
        assert_eq!(decode_nodes(&b[1..], true, 8), None);
        assert!(encode_nodes(&[n], false).is_empty());
    }
}
