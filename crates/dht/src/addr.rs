//! Which addresses may be nodes or peers: never port 0, unspecified, multicast or
//! broadcast; loopback and private ranges only when the configuration allows them.

use std::net::{IpAddr, SocketAddr};

/// Whether `addr` may enter a routing table, a lookup or a peer list.
pub(crate) fn acceptable(addr: &SocketAddr, allow_private: bool) -> bool {
    if addr.port() == 0 {
        return false;
    }
    match addr.ip() {
        IpAddr::V4(ip) => {
            if ip.is_unspecified() || ip.is_multicast() || ip.is_broadcast() {
                return false;
            }
            let o = ip.octets();
            let shared = o[0] == 100 && (o[1] & 0xc0) == 64; // 100.64.0.0/10, carrier NAT
            let private = ip.is_loopback() || ip.is_private() || ip.is_link_local() || shared;
            allow_private || (!private && o[0] != 0)
        }
        IpAddr::V6(ip) => {
            if ip.is_unspecified() || ip.is_multicast() {
                return false;
            }
            let s = ip.segments();
            let unique_local = (s[0] & 0xfe00) == 0xfc00;
            let link_local = (s[0] & 0xffc0) == 0xfe80;
            let private = ip.is_loopback() || unique_local || link_local;
            allow_private || !private
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn filters() {
        let ok = |s: &str, p| acceptable(&s.parse().unwrap(), p);
        assert!(ok("1.2.3.4:1", false));
        assert!(!ok("1.2.3.4:0", true));
        assert!(!ok("127.0.0.1:5", false));
        assert!(ok("127.0.0.1:5", true));
        assert!(!ok("10.1.2.3:5", false));
        assert!(!ok("0.0.0.0:5", true));
        assert!(!ok("224.0.0.1:5", true));
        assert!(!ok("[::1]:5", false));
        assert!(ok("[::1]:5", true));
        assert!(!ok("[fd00::1]:5", false));
        assert!(ok("[2001:db8::1]:5", false));
    }
}
