//! The addresses other peers can reach us at, for the `x.pe` hints of the magnet link that
//! `share` prints. A wildcard listen address is expanded to loopback plus this machine's
//! own addresses, read from /proc (Linux); elsewhere loopback alone is used. Link-local
//! addresses are left out (they mean nothing off their link). A public address from port
//! mapping goes first ([`hints`]); the local ones follow so the link also works on this
//! machine and its LAN.

use std::collections::BTreeSet;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr};

/// The `x.pe` hints: `external` (the mapped public address) first, then [`advertised`].
pub fn hints(external: Option<SocketAddr>, bound: SocketAddr) -> Vec<SocketAddr> {
    let mut hints: Vec<SocketAddr> = external.into_iter().collect();
    for addr in advertised(bound) {
        if !hints.contains(&addr) {
            hints.push(addr);
        }
    }
    hints
}

/// Reachable addresses for a listener bound to `bound`, loopback first.
pub fn advertised(bound: SocketAddr) -> Vec<SocketAddr> {
    let port = bound.port();
    let ips: Vec<IpAddr> = match bound.ip() {
        IpAddr::V4(ip) if ip.is_unspecified() => {
            let mut ips = vec![IpAddr::V4(Ipv4Addr::LOCALHOST)];
            ips.extend(local_ipv4().into_iter().map(IpAddr::V4));
            ips
        }
        IpAddr::V6(ip) if ip.is_unspecified() => {
            // A `[::]` socket is dual-stack on Linux by default, so IPv4 peers reach it too.
            let mut ips = vec![
                IpAddr::V4(Ipv4Addr::LOCALHOST),
                IpAddr::V6(Ipv6Addr::LOCALHOST),
            ];
            ips.extend(local_ipv4().into_iter().map(IpAddr::V4));
            ips.extend(local_ipv6().into_iter().map(IpAddr::V6));
            ips
        }
        ip => vec![ip],
    };
    ips.into_iter()
        .map(|ip| SocketAddr::new(ip, port))
        .collect()
}

/// Non-loopback IPv4 addresses of this host, from /proc/net/fib_trie's local routes.
fn local_ipv4() -> BTreeSet<Ipv4Addr> {
    std::fs::read_to_string("/proc/net/fib_trie")
        .map(|t| parse_fib_trie(&t))
        .unwrap_or_default()
}

/// In fib_trie, a `|-- ADDR` line followed by `/32 host LOCAL` names an address of ours.
fn parse_fib_trie(text: &str) -> BTreeSet<Ipv4Addr> {
    let mut found = BTreeSet::new();
    let mut last: Option<Ipv4Addr> = None;
    for line in text.lines() {
        let line = line.trim();
        if let Some(addr) = line.strip_prefix("|-- ") {
            last = addr.trim().parse().ok();
        } else if line.starts_with("/32 host LOCAL") {
            let ours =
                |ip: &Ipv4Addr| !ip.is_loopback() && !ip.is_unspecified() && !ip.is_link_local();
            if let Some(ip) = last.filter(ours) {
                found.insert(ip);
            }
        }
    }
    found
}

/// Global-scope IPv6 addresses of this host, from /proc/net/if_inet6.
fn local_ipv6() -> BTreeSet<Ipv6Addr> {
    std::fs::read_to_string("/proc/net/if_inet6")
        .map(|t| parse_if_inet6(&t))
        .unwrap_or_default()
}

/// Each line: 32 hex digits of address, interface index, prefix length, scope, flags, name.
fn parse_if_inet6(text: &str) -> BTreeSet<Ipv6Addr> {
    let mut found = BTreeSet::new();
    for line in text.lines() {
        let fields: Vec<&str> = line.split_whitespace().collect();
        let (Some(hex), Some(scope)) = (fields.first(), fields.get(3)) else {
            continue;
        };
        if *scope != "00" || hex.len() != 32 {
            continue;
        }
        if let Ok(bits) = u128::from_str_radix(hex, 16) {
            let ip = Ipv6Addr::from(bits);
            if !ip.is_loopback() {
                found.insert(ip);
            }
        }
    }
    found
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fib_trie_local_host_routes_are_our_addresses() {
        let text = "Main:\n  +-- 0.0.0.0/0 3 0 5\n     |-- 0.0.0.0\n        /0 universe UNICAST\n     \
                    |-- 10.1.2.3\n        /32 host LOCAL\n     |-- 10.1.2.255\n        /32 link BROADCAST\n     \
                    |-- 127.0.0.1\n        /32 host LOCAL\n     |-- 169.254.1.1\n        /32 host LOCAL\n";
        let found: Vec<_> = parse_fib_trie(text).into_iter().collect();
        assert_eq!(found, vec![Ipv4Addr::new(10, 1, 2, 3)]);
    }

    #[test]
    fn if_inet6_keeps_global_scope_only() {
        let text = "00000000000000000000000000000001 01 80 10 80 lo\n\
                    fe800000000000000000000000000001 02 40 20 80 eth0\n\
                    20010db8000000000000000000000001 02 40 00 00 eth0\n";
        let found: Vec<_> = parse_if_inet6(text).into_iter().collect();
        assert_eq!(found, vec!["2001:db8::1".parse::<Ipv6Addr>().unwrap()]);
    }

    #[test]
    fn a_mapped_address_goes_first() {
        let ext: SocketAddr = "80.100.100.11:7000".parse().unwrap();
        let one: SocketAddr = "127.0.0.1:7000".parse().unwrap();
        assert_eq!(hints(Some(ext), one), vec![ext, one]);
        assert_eq!(hints(None, one), vec![one]);
    }

    #[test]
    fn wildcard_expands_to_loopback_first_and_specific_stays() {
        let any: SocketAddr = "0.0.0.0:7000".parse().unwrap();
        assert_eq!(advertised(any)[0], "127.0.0.1:7000".parse().unwrap());
        let one: SocketAddr = "127.0.0.1:7001".parse().unwrap();
        assert_eq!(advertised(one), vec![one]);
    }
}
