//! Recognising our own listening address among the peers that trackers, the DHT or PEX hand
//! us, so it is not dialed.

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr, UdpSocket};

/// True if `peer` reaches our own listener at `listen`. With a specific listen address only
/// that address is us. With an unspecified one (0.0.0.0 or ::) every local address on our port
/// is: loopback, unspecified, or an address of one of our interfaces, which is the address the
/// routing table picks as the source when "connecting" a UDP socket to it (no packet is sent).
pub(super) fn is_own(peer: SocketAddr, listen: SocketAddr) -> bool {
    if peer.port() != listen.port() {
        return false;
    }
    if !listen.ip().is_unspecified() {
        return same_ip(peer.ip(), listen.ip());
    }
    let ip = peer.ip();
    ip.is_loopback() || ip.is_unspecified() || is_local_interface(ip)
}

fn same_ip(a: IpAddr, b: IpAddr) -> bool {
    a.to_canonical() == b.to_canonical()
}

fn is_local_interface(ip: IpAddr) -> bool {
    let any: IpAddr = match ip {
        IpAddr::V4(_) => Ipv4Addr::UNSPECIFIED.into(),
        IpAddr::V6(_) => Ipv6Addr::UNSPECIFIED.into(),
    };
    let Ok(socket) = UdpSocket::bind((any, 0)) else {
        return false;
    };
    socket.connect((ip, 9)).is_ok()
        && socket
            .local_addr()
            .is_ok_and(|local| same_ip(local.ip(), ip))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn a(s: &str) -> SocketAddr {
        s.parse().unwrap()
    }

    #[test]
    fn our_port_on_a_local_address_is_us() {
        let any = a("0.0.0.0:6881");
        assert!(is_own(a("127.0.0.1:6881"), any));
        assert!(is_own(a("127.0.0.5:6881"), any));
        assert!(is_own(a("0.0.0.0:6881"), any));
        assert!(!is_own(a("127.0.0.1:6882"), any));
        // An address of no local interface (a documentation range).
        assert!(!is_own(a("192.0.2.7:6881"), any));
        let specific = a("127.0.0.1:6881");
        assert!(is_own(a("127.0.0.1:6881"), specific));
        assert!(is_own(a("[::ffff:127.0.0.1]:6881"), specific));
        // Another process may listen on another loopback address with the same port.
        assert!(!is_own(a("127.0.0.2:6881"), specific));
    }
}
