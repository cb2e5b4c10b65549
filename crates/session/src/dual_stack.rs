//! One socket for both address families. A listener on `[::]` is made dual-stack
//! explicitly (IPV6_V6ONLY off, whatever the system's `bindv6only` default says), so IPv4
//! peers reach it too, at IPv4-mapped addresses (`::ffff:a.b.c.d`). Those are turned back
//! into plain IPv4 addresses as they come in ([`canonical`]), so the rest of the session
//! sees one spelling per peer, and into mapped ones when a datagram to an IPv4 peer leaves
//! an IPv6 socket ([`for_socket`]).

use socket2::{Domain, Protocol, Socket, Type};
use std::io;
use std::net::{IpAddr, SocketAddr};
use tokio::net::{TcpListener, UdpSocket};

/// Backlog of the TCP listener (tokio's own default).
const BACKLOG: i32 = 1024;

/// Binds a TCP listener on `addr`; on `[::]` it accepts IPv4 peers too.
pub(crate) fn tcp_listener(addr: SocketAddr) -> io::Result<TcpListener> {
    let socket = socket(addr, Type::STREAM, Protocol::TCP)?;
    // As tokio's `TcpListener::bind` does: a restarted client rebinds its port at once.
    socket.set_reuse_address(true)?;
    socket.bind(&addr.into())?;
    socket.listen(BACKLOG)?;
    TcpListener::from_std(socket.into())
}

/// Binds a UDP socket on `addr`; on `[::]` it talks to IPv4 peers too.
pub(crate) fn udp_socket(addr: SocketAddr) -> io::Result<UdpSocket> {
    let socket = socket(addr, Type::DGRAM, Protocol::UDP)?;
    socket.bind(&addr.into())?;
    UdpSocket::from_std(socket.into())
}

fn socket(addr: SocketAddr, kind: Type, protocol: Protocol) -> io::Result<Socket> {
    let socket = Socket::new(Domain::for_address(addr), kind, Some(protocol))?;
    if is_dual_stack(addr) {
        socket.set_only_v6(false)?;
    }
    socket.set_nonblocking(true)?;
    Ok(socket)
}

/// True for `[::]`, the address a dual-stack socket binds.
pub(crate) fn is_dual_stack(addr: SocketAddr) -> bool {
    matches!(addr.ip(), IpAddr::V6(ip) if ip.is_unspecified())
}

/// True if binding failed only because this host has no IPv6 (a kernel or container
/// without it): the caller then listens on IPv4 alone.
pub(crate) fn no_ipv6(error: &io::Error) -> bool {
    // EAFNOSUPPORT: no IPv6 in the kernel; EADDRNOTAVAIL: IPv6 disabled on every interface.
    matches!(
        error.raw_os_error(),
        Some(libc::EAFNOSUPPORT) | Some(libc::EADDRNOTAVAIL)
    )
}

/// An address family.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub(crate) enum Family {
    V4,
    V6,
}

impl Family {
    /// The family `addr` belongs to (an IPv4-mapped address counts as IPv4).
    pub(crate) fn of(addr: SocketAddr) -> Family {
        match canonical(addr).ip() {
            IpAddr::V4(_) => Family::V4,
            IpAddr::V6(_) => Family::V6,
        }
    }

    /// "IPv4" or "IPv6", for messages.
    pub(crate) fn name(self) -> &'static str {
        match self {
            Family::V4 => "IPv4",
            Family::V6 => "IPv6",
        }
    }
}

/// The families a listener bound to `listen` takes peers of: both for `[::]`, else its own.
pub(crate) fn families(listen: SocketAddr) -> Vec<Family> {
    if is_dual_stack(listen) {
        vec![Family::V4, Family::V6]
    } else {
        vec![Family::of(listen)]
    }
}

/// `addr` with an IPv4-mapped IPv6 address written as the IPv4 address it is.
pub(crate) fn canonical(addr: SocketAddr) -> SocketAddr {
    SocketAddr::new(addr.ip().to_canonical(), addr.port())
}

/// `dest` spelled for a socket bound to `local`: an IPv6 socket reaches an IPv4 peer at
/// the peer's IPv4-mapped address.
pub(crate) fn for_socket(dest: SocketAddr, local: SocketAddr) -> SocketAddr {
    match (dest.ip(), local) {
        (IpAddr::V4(ip), SocketAddr::V6(_)) => {
            SocketAddr::new(IpAddr::V6(ip.to_ipv6_mapped()), dest.port())
        }
        _ => dest,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn a_dual_stack_listener_accepts_both_families() {
        let listener = match tcp_listener("[::]:0".parse().unwrap()) {
            Ok(listener) => listener,
            Err(e) if no_ipv6(&e) => return eprintln!("no IPv6 here: {e}"),
            Err(e) => panic!("{e}"),
        };
        let port = listener.local_addr().unwrap().port();
        for dial in ["127.0.0.1", "::1"] {
            let ip: IpAddr = dial.parse().unwrap();
            let _client = tokio::net::TcpStream::connect((ip, port)).await.unwrap();
            let (_, from) = listener.accept().await.unwrap();
            assert_eq!(canonical(from).ip(), ip, "accepted {from}");
        }
    }

    #[tokio::test]
    async fn a_dual_stack_udp_socket_talks_to_ipv4_peers() {
        let socket = match udp_socket("[::]:0".parse().unwrap()) {
            Ok(socket) => socket,
            Err(e) if no_ipv6(&e) => return eprintln!("no IPv6 here: {e}"),
            Err(e) => panic!("{e}"),
        };
        let local = socket.local_addr().unwrap();
        let peer = UdpSocket::bind("127.0.0.1:0").await.unwrap();
        let peer_addr = peer.local_addr().unwrap();
        socket
            .send_to(b"ping", for_socket(peer_addr, local))
            .await
            .unwrap();
        let mut buf = [0u8; 8];
        let (len, from) = peer.recv_from(&mut buf).await.unwrap();
        assert_eq!(&buf[..len], b"ping");
        peer.send_to(b"pong", from).await.unwrap();
        let (len, from) = socket.recv_from(&mut buf).await.unwrap();
        assert_eq!(&buf[..len], b"pong");
        assert_eq!(canonical(from), peer_addr);
    }

    #[test]
    fn a_listener_takes_the_families_it_is_bound_for() {
        let of = |s: &str| families(s.parse().unwrap());
        assert_eq!(of("[::]:1"), [Family::V4, Family::V6]);
        assert_eq!(of("0.0.0.0:1"), [Family::V4]);
        assert_eq!(of("127.0.0.1:1"), [Family::V4]);
        assert_eq!(of("[::1]:1"), [Family::V6]);
        assert_eq!(of("[::ffff:127.0.0.1]:1"), [Family::V4]);
    }

    #[test]
    fn addresses_are_spelled_once() {
        let mapped: SocketAddr = "[::ffff:10.0.0.1]:6881".parse().unwrap();
        let plain: SocketAddr = "10.0.0.1:6881".parse().unwrap();
        assert_eq!(canonical(mapped), plain);
        assert_eq!(canonical(plain), plain);
        let v6: SocketAddr = "[2001:db8::1]:1".parse().unwrap();
        assert_eq!(canonical(v6), v6);
        let any6: SocketAddr = "[::]:0".parse().unwrap();
        let any4: SocketAddr = "0.0.0.0:0".parse().unwrap();
        assert_eq!(for_socket(plain, any6), mapped);
        assert_eq!(for_socket(plain, any4), plain);
        assert_eq!(for_socket(v6, any6), v6);
    }
}
