//! Where the mapping requests go: the default gateway from `/proc/net/route` (Linux), and
//! our own address toward it (the source address the kernel picks, found by connecting a
//! UDP socket, which sends nothing).

use shoal_portmap::route::{default_route, DefaultRoute};
use std::net::{IpAddr, Ipv4Addr, SocketAddr};

/// The default route, or why there is none.
pub(super) fn find() -> Result<DefaultRoute, String> {
    let text = std::fs::read_to_string("/proc/net/route")
        .map_err(|e| format!("cannot read /proc/net/route: {e}"))?;
    default_route(&text).ok_or_else(|| "no default route (no gateway to ask)".to_string())
}

/// Our IPv4 address on the way to `gateway`.
pub(super) async fn local_ip_toward(gateway: Ipv4Addr) -> Result<Ipv4Addr, String> {
    let socket = tokio::net::UdpSocket::bind((Ipv4Addr::UNSPECIFIED, 0))
        .await
        .map_err(|e| format!("cannot open a UDP socket: {e}"))?;
    socket
        .connect(SocketAddr::from((gateway, shoal_portmap::SERVER_PORT)))
        .await
        .map_err(|e| format!("no route to the gateway {gateway}: {e}"))?;
    match socket.local_addr().map(|a| a.ip()) {
        Ok(IpAddr::V4(ip)) if !ip.is_unspecified() => Ok(ip),
        other => Err(format!("no local address toward {gateway}: {other:?}")),
    }
}
